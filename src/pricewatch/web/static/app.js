// pricewatch page scripts: shared helpers (API calls, toasts, confirmations, formatting).
// Loaded as an ES module by every page; page scripts import what they need from here.

const LOCALE = document.documentElement.lang || "en";

/** An /api error with the server's one-sentence message and structured detail. */
export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The session's CSRF token (from <meta name="csrf-token">). */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** Call the API as the logged-in page: JSON in and out, CSRF header on unsafe methods. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.error ?? `The server answered ${response.status}.`;
    throw new ApiError(message, response.status, data);
  }
  return data;
}

// --- toasts -------------------------------------------------------------------------------

/**
 * Show a toast. `content` is text or a Node; kind "error" stays until closed,
 * others fade after `timeout` ms.
 */
export function toast(content, { kind = "info", timeout = 6000 } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return null;
  const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" });
  const body = el("div", {}, [content]);
  const close = el("button", { type: "button", class: "close", "aria-label": "Dismiss" }, ["×"]);
  close.addEventListener("click", () => item.remove());
  item.append(body, close);
  box.append(item);
  if (kind !== "error" && timeout > 0) setTimeout(() => item.remove(), timeout);
  return item;
}

/** A toast for a created job, linking to its page. */
export function jobToast(job, prefix = "") {
  const link = el("a", { href: `/jobs/${job.id}` }, [`Job #${job.id}`]);
  const text = el("span", {}, [prefix, link, " created"]);
  return toast(text);
}

// --- confirmation -------------------------------------------------------------------------

/** Ask with the page's <dialog>; resolves true when the user confirms. */
export function confirmAction(message, { title = "Are you sure?", ok = "Confirm", danger = false } = {}) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog?.showModal) return Promise.resolve(window.confirm(message));
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-message").textContent = message;
  dialog.querySelector("#confirm-ok").textContent = ok;
  dialog.querySelector("#confirm-ok").classList.toggle("danger", danger);
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    dialog.querySelector("#confirm-ok").focus();
  });
}

// --- DOM ----------------------------------------------------------------------------------

/** Create an element with attributes and children (strings become text, never HTML). */
export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** Create an SVG element with attributes. */
export function svg(tag, attributes = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// --- formatting ---------------------------------------------------------------------------

const moneyFormats = new Map();

/** "€1,226.50" from a decimal string and an ISO currency (the code alone when unknown). */
export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  if (!currency) return Number(amount).toLocaleString(LOCALE, { minimumFractionDigits: 2 });
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat(LOCALE, { style: "currency", currency }));
  }
  return moneyFormats.get(currency).format(Number(amount));
}

const dateFormat = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(LOCALE, { timeStyle: "medium" });

export const formatDate = (value) => dateFormat.format(new Date(value));
export const formatDateTime = (value) => dateTimeFormat.format(new Date(value));
export const formatTime = (value) => timeFormat.format(new Date(value));

const relative = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

/** "3 minutes ago", "in 2 hours", "just now". */
export function relativeTime(value, now = Date.now()) {
  const seconds = (new Date(value).getTime() - now) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return "just now";
}

/** "1.5 s", "2 min 5 s", "1 h 3 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Keep every <time data-relative> element's text current. */
function refreshRelativeTimes() {
  for (const node of document.querySelectorAll("time[data-relative]")) {
    node.textContent = relativeTime(node.dateTime);
  }
}

// --- page behaviours declared in the markup ---------------------------------------------------

// <form data-confirm="Question?">: ask before submitting (e.g. revoking an API token).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (form.dataset.confirmed === "yes") return; // the user said yes: let it through
  event.preventDefault();
  const submitter = event.submitter;
  const ok = await confirmAction(form.dataset.confirm, {
    title: form.dataset.confirmTitle ?? "Are you sure?",
    ok: form.dataset.confirmOk ?? submitter?.textContent?.trim() ?? "Confirm",
    danger: Boolean(submitter?.classList.contains("danger")),
  });
  if (!ok) return;
  form.dataset.confirmed = "yes";
  form.requestSubmit(submitter ?? undefined);
  delete form.dataset.confirmed;
});

/** Copy text to the clipboard; falls back to selecting it where the Clipboard API is missing. */
async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand?.("copy") ?? false;
  }
}

// <button data-copy="#id">: copy that element's text, and say so on the button.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const label = button.dataset.label ?? button.textContent;
  button.dataset.label = label;
  const copied = await copyText(source.textContent.trim(), source);
  button.textContent = copied ? "Copied ✓" : "Press Ctrl+C to copy";
  button.classList.toggle("copied", copied);
  clearTimeout(Number(button.dataset.timer));
  button.dataset.timer = String(setTimeout(() => {
    button.textContent = label;
    button.classList.remove("copied");
  }, 2000));
});

// Product images live on the shops' servers: hide the ones that fail to load.
document.addEventListener("error", (event) => {
  if (event.target instanceof HTMLImageElement) event.target.classList.add("broken");
}, true);

refreshRelativeTimes();
setInterval(refreshRelativeTimes, 30_000);

// A toast left by the previous page (e.g. after a delete redirected here).
const flash = sessionStorage.getItem("pricewatch:toast");
if (flash) {
  sessionStorage.removeItem("pricewatch:toast");
  toast(flash);
}
