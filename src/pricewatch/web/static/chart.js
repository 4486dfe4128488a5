// The product page's price chart: an SVG drawn from /api/products/{id}/history.
//
// One <circle class="point" data-at data-price> per drawn point; for day-resolution data a
// low–high band; stock as a coloured strip on the same time axis; a crosshair tooltip that
// follows the pointer or the arrow keys; zoom buttons that re-fetch the range.
import { api, el, formatDate, formatDateTime, formatMoney, svg } from "./app.js";

const DAY_MS = 86_400_000;
const HEIGHT = 300;
const MARGIN = { top: 16, right: 20, bottom: 52, left: 72 };
const STRIP = { gap: 10, height: 8 };
const STOCK_LABELS = {
  in_stock: "In stock",
  out_of_stock: "Out of stock",
  preorder: "Pre-order",
  unknown: "Unknown",
};

const root = document.getElementById("chart");
const summary = document.getElementById("chart-summary");
const zoomButtons = [...document.querySelectorAll(".zoom button[data-range]")];
const productId = root.dataset.productId;
let state = { data: null, range: "all", active: -1 };

// --- scales -------------------------------------------------------------------------------

/** Evenly spaced "nice" ticks covering [min, max]. */
function niceTicks(min, max, count = 5) {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const first = Math.floor(min / step) * step;
  const ticks = [];
  for (let v = first; v <= max + step * 0.5; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

function linear([d0, d1], [r0, r1]) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Time domain of the chart: the zoomed range, or the data's own span (at least a day, and
 * then the day up to now: a product checked once shows its check at the right, not in the
 * middle of a day that has not happened yet). */
function timeDomain(points, range) {
  const times = points.map((p) => p.t);
  let start = Math.min(...times);
  let end = Math.max(...times);
  if (range !== "all") start = Math.min(start, Date.now() - Number(range) * DAY_MS);
  if (range !== "all") end = Math.max(end, Date.now());
  if (end - start < DAY_MS) {
    end = Math.max(end, Math.min(Date.now(), start + DAY_MS));
    start = Math.min(start, end - DAY_MS);
  }
  return [start, end];
}

function priceDomain(points) {
  const values = points.flatMap((p) => [p.low ?? p.price, p.high ?? p.price, p.price]).filter((v) => v !== null);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const pad = (high - low) * 0.1 || high * 0.05 || 1;
  return [Math.max(0, low - pad), high + pad];
}

// --- data ---------------------------------------------------------------------------------

function normalise(point) {
  const num = (v) => (v === null || v === undefined ? null : Number(v));
  return {
    ...point,
    price_text: point.price,
    t: new Date(point.at).getTime(),
    price: num(point.price),
    low: num(point.low),
    high: num(point.high),
  };
}

async function load(range) {
  const params = new URLSearchParams();
  if (range !== "all") {
    params.set("from", new Date(Date.now() - Number(range) * DAY_MS).toISOString());
    params.set("to", new Date().toISOString());
  }
  const query = params.toString();
  return api("GET", `/api/products/${productId}/history${query ? `?${query}` : ""}`);
}

// --- drawing ------------------------------------------------------------------------------

function timeLabel(t, span) {
  const locale = document.documentElement.lang || "en";
  // Within a few days, day labels repeat: show the hour (and the day where it changes).
  if (span <= 3 * DAY_MS) return new Date(t).toLocaleString(locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const options = span > 400 * DAY_MS ? { month: "short", year: "numeric" } : { month: "short", day: "numeric" };
  return new Date(t).toLocaleDateString(locale, options);
}

function drawGrid(group, { x, y, width, plotBottom, timeTicks, priceTicks, span, currency }) {
  const grid = svg("g", { class: "grid" });
  const axis = svg("g", { class: "axis" });
  for (const value of priceTicks) {
    grid.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }));
    const text = svg("text", { x: MARGIN.left - 8, y: y(value) + 4, "text-anchor": "end" });
    text.textContent = formatMoney(value, currency);
    axis.append(text);
  }
  let previous = "";
  timeTicks.forEach((t, i) => {
    const label = timeLabel(t, span);
    if (label === previous) return; // the same day twice says nothing
    previous = label;
    // The outer labels line up with the plot's edges instead of running past them.
    const anchor = i === 0 ? "start" : i === timeTicks.length - 1 ? "end" : "middle";
    const text = svg("text", { x: x(t), y: plotBottom + STRIP.gap + STRIP.height + 18, "text-anchor": anchor });
    text.textContent = label;
    axis.append(text);
  });
  group.append(grid, axis);
}

function drawBand(group, points, x, y) {
  const ranged = points.filter((p) => p.low !== null && p.high !== null);
  if (ranged.length < 2) return;
  const top = ranged.map((p) => `${x(p.t)},${y(p.high)}`);
  const bottom = ranged.reverse().map((p) => `${x(p.t)},${y(p.low)}`);
  group.append(svg("path", { class: "band", d: `M${top.join(" L")} L${bottom.join(" L")} Z` }));
}

function drawLine(group, points, x, y) {
  let d = "";
  let pen = "M";
  for (const p of points) {
    if (p.price === null) { pen = "M"; continue; }
    d += `${pen}${x(p.t).toFixed(1)},${y(p.price).toFixed(1)} `;
    pen = "L";
  }
  if (d) group.append(svg("path", { class: "line", d: d.trim() }));
}

function drawPoints(group, points, x, y) {
  const radius = points.length <= 40 ? 3.5 : points.length <= 120 ? 2.25 : 1.25;
  points.forEach((p, index) => {
    if (p.price === null) return;
    group.append(svg("circle", {
      class: "point", cx: x(p.t), cy: y(p.price), r: radius,
      "data-index": index, "data-at": p.at, "data-price": String(p.price_text ?? p.price),
    }));
  });
}

/** Runs of equal stock status: [{status, from, to}], each lasting until the next run; the
 * last one until now (or the end of the domain), never into the future. */
function stockRuns(points, domainEnd) {
  const runs = [];
  const lastEnd = Math.min(domainEnd, Date.now());
  for (const [i, p] of points.entries()) {
    const status = STOCK_LABELS[p.availability] ? p.availability : "unknown";
    const to = i + 1 < points.length ? points[i + 1].t : Math.max(p.t, lastEnd);
    const last = runs.at(-1);
    if (last?.status === status) last.to = to;
    else runs.push({ status, from: p.t, to });
  }
  return runs;
}

/** Stock on the same time axis, as a strip of coloured runs under the prices. */
function drawStock(group, points, x, domainEnd, plotBottom) {
  const strip = svg("g", { class: "stock-strip" });
  const top = plotBottom + STRIP.gap;
  for (const run of stockRuns(points, domainEnd)) {
    const width = Math.max(x(run.to) - x(run.from), 2);
    const rect = svg("rect", { class: run.status, x: x(run.from), y: top, width, height: STRIP.height, rx: 1.5 });
    const title = svg("title");
    title.textContent = `${STOCK_LABELS[run.status]}: ${formatDate(run.from)} – ${formatDate(run.to)}`;
    rect.append(title);
    strip.append(rect);
  }
  const label = svg("text", { class: "stock-label", x: MARGIN.left - 8, y: top + STRIP.height - 0.5, "text-anchor": "end" });
  label.textContent = "Stock";
  group.append(strip, label);
}

function render() {
  const { data } = state;
  root.replaceChildren();
  if (!data || !data.points.length) {
    root.append(el("p", { class: "chart-status" }, [
      state.range === "all" ? "No prices yet. Press “Check now” to record the first one." : "No prices in this range.",
    ]));
    return;
  }
  const width = Math.max(root.clientWidth - 2 * parseFloat(getComputedStyle(root).paddingLeft), 320);
  const plotBottom = HEIGHT - MARGIN.bottom;
  const points = data.points;
  const [t0, t1] = timeDomain(points, state.range);
  const [p0, p1] = priceDomain(points);
  const priceTicks = niceTicks(p0, p1, 4).filter((v) => v >= p0 && v <= p1);
  const x = linear([t0, t1], [MARGIN.left, width - MARGIN.right]);
  const y = linear([p0, p1], [plotBottom, MARGIN.top]);
  const tickCount = Math.max(2, Math.min(7, Math.floor(width / 120)));
  const timeTicks = Array.from({ length: tickCount }, (_, i) => t0 + ((t1 - t0) * i) / (tickCount - 1));

  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: "application",
    "aria-label": `Price chart with ${points.length} points. Use the left and right arrow keys to read each point.`,
    "aria-describedby": "chart-summary", tabindex: "0",
  });
  drawGrid(chart, { x, y, width, plotBottom, timeTicks, priceTicks, span: t1 - t0, currency: data.currency });
  if (data.resolution === "day") drawBand(chart, points, x, y);
  drawLine(chart, points, x, y);
  drawStock(chart, points, x, t1, plotBottom);
  const crosshair = svg("line", { class: "crosshair", y1: MARGIN.top, y2: plotBottom + STRIP.gap + STRIP.height, visibility: "hidden" });
  chart.append(crosshair);
  const dots = svg("g", { class: "points" });
  drawPoints(dots, points, x, y);
  chart.append(dots);
  const hit = svg("rect", { class: "hit", x: MARGIN.left, y: 0, width: width - MARGIN.left - MARGIN.right, height: HEIGHT });
  chart.append(hit);

  const tip = el("div", { class: "chart-tip", hidden: "", role: "status" });
  root.append(chart, tip);
  const show = attachInteraction({ chart, hit, crosshair, tip, dots, points, x, y });
  if (state.active >= 0 && state.active < points.length) show(state.active);
}

// --- interaction --------------------------------------------------------------------------

function nearestIndex(points, t) {
  let lo = 0;
  let hi = points.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t < t) lo = mid; else hi = mid;
  }
  return Math.abs(points[lo].t - t) <= Math.abs(points[hi].t - t) ? lo : hi;
}

function tipContent(point, resolution, currency) {
  const price = el("strong", {}, [point.price === null ? "No price" : formatMoney(point.price, currency)]);
  const when = el("span", {}, [resolution === "day" ? formatDate(point.at) : formatDateTime(point.at)]);
  const lines = [price, when];
  if (resolution === "day" && point.low !== null && point.high !== null && point.low !== point.high) {
    lines.push(el("div", {}, [`Low ${formatMoney(point.low, currency)} – high ${formatMoney(point.high, currency)}`]));
  }
  lines.push(el("div", {}, [STOCK_LABELS[point.availability] ?? "Unknown stock"]));
  return lines;
}

function attachInteraction({ chart, hit, crosshair, tip, dots, points, x, y }) {
  const { resolution, currency } = state.data;
  const scale = () => chart.getBoundingClientRect().width / Number(chart.getAttribute("width"));

  const show = (index) => {
    state.active = index;
    const point = points[index];
    dots.querySelector(".point.active")?.classList.remove("active");
    dots.querySelector(`.point[data-index="${index}"]`)?.classList.add("active");
    crosshair.setAttribute("x1", x(point.t));
    crosshair.setAttribute("x2", x(point.t));
    crosshair.setAttribute("visibility", "visible");
    tip.replaceChildren(...tipContent(point, resolution, currency));
    tip.hidden = false;
    placeTip(tip, chart, x(point.t), point.price === null ? MARGIN.top : y(point.price));
  };
  const hide = () => {
    state.active = -1;
    tip.hidden = true;
    crosshair.setAttribute("visibility", "hidden");
    dots.querySelector(".point.active")?.classList.remove("active");
  };

  hit.addEventListener("pointermove", (event) => {
    const box = chart.getBoundingClientRect();
    const t = invert(x, (event.clientX - box.left) / scale());
    show(nearestIndex(points, t));
  });
  hit.addEventListener("pointerleave", () => { if (document.activeElement !== chart) hide(); });
  chart.addEventListener("focus", () => show(state.active >= 0 && state.active < points.length ? state.active : points.length - 1));
  chart.addEventListener("blur", hide);
  chart.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = Math.min(points.length - 1, Math.max(0, (state.active < 0 ? points.length - 1 : state.active) + moves[event.key]));
    show(next);
  });
  return show;
}

/** Put the tooltip above the point at chart coordinates (px, py), kept inside the chart. */
function placeTip(tip, chart, px, py) {
  const box = chart.getBoundingClientRect();
  const frame = root.getBoundingClientRect();
  const k = box.width / Number(chart.getAttribute("width"));
  const half = tip.offsetWidth / 2;
  const left = box.left - frame.left + px * k;
  tip.style.left = `${Math.min(Math.max(left, half + 4), frame.width - half - 4)}px`;
  tip.style.top = `${box.top - frame.top + py * k}px`;
}

function invert(scale, px) {
  const a = scale(0);
  const b = scale(1);
  return (px - a) / (b - a);
}

// --- summary and zoom ---------------------------------------------------------------------

function showSummary() {
  const { data } = state;
  const stats = data?.stats;
  if (!stats) {
    summary.textContent = "";
    return;
  }
  const money = (v) => formatMoney(v, data.currency);
  const detail = data.resolution === "day" ? " · one point per day" : "";
  summary.textContent = `Low ${money(stats.low)} · high ${money(stats.high)} · average ${money(stats.average)} · ${stats.observations} check${stats.observations === 1 ? "" : "s"}${detail}`;
}

async function zoom(range) {
  state.range = range;
  for (const button of zoomButtons) button.setAttribute("aria-pressed", String(button.dataset.range === range));
  root.setAttribute("aria-busy", "true");
  try {
    const data = await load(range);
    state = { ...state, data: { ...data, points: data.points.map(normalise) }, active: -1 };
    render();
    showSummary();
  } catch (error) {
    root.replaceChildren(el("p", { class: "chart-status" }, [`Could not load the price history: ${error.message}`]));
  } finally {
    root.removeAttribute("aria-busy");
  }
}

for (const button of zoomButtons) button.addEventListener("click", () => zoom(button.dataset.range));

let resizeTimer = null;
let drawnWidth = root.clientWidth;
new ResizeObserver(() => {
  if (root.clientWidth === drawnWidth) return;
  drawnWidth = root.clientWidth;
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.data && render(), 100);
}).observe(root);

/** Redraw from the server (after a check): keeps the zoom. */
export const reloadChart = () => zoom(state.range);
document.addEventListener("pricewatch:checked", reloadChart);

zoom("all");
