// The dashboard's "add products" form: posts the URLs to /api/products, shows the jobs, and
// brings their products into the list as their checks end.
import { ApiError, api, el, toast } from "./app.js";

const form = document.getElementById("add-products");
const textarea = document.getElementById("add-urls");
const errorBox = document.getElementById("add-error");
const status = document.getElementById("add-status");
const submit = document.getElementById("add-submit");

/** The URLs typed or pasted: one per line, blank lines ignored. */
function urlsOf(text) {
  return text.split(/\r?\n/).map((url) => url.trim()).filter(Boolean);
}

function showError(message, rejected = []) {
  errorBox.replaceChildren(el("p", {}, [message]));
  if (rejected.length) {
    const items = rejected.map(({ url, error }) => el("li", {}, [el("code", {}, [url]), ` — ${error}`]));
    errorBox.append(el("ul", { class: "rejected" }, items));
  }
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
}

/** The jobs an answer created (one job, or one per URL). */
function jobsOf(answer) {
  if (Array.isArray(answer?.jobs)) return answer.jobs;
  return answer?.job ? [answer.job] : [];
}

function announce(jobs) {
  if (!jobs.length) return;
  const links = jobs.slice(0, 5).flatMap((job, i) => [i ? ", " : "", el("a", { href: `/jobs/${job.id}` }, [`Job #${job.id}`])]);
  const more = jobs.length > 5 ? ` and ${jobs.length - 5} more` : "";
  toast(el("span", {}, [...links, more, " created"]));
}

const FOLLOW_MS = 2000;
/** Jobs asked about per request (the most /api/jobs lists at once). */
const FOLLOW_BATCH = 200;

/** Swap in the product list as the server renders it now (same search, sort and page); false
 * when it cannot (the dashboard was still empty: the page itself changes shape). */
async function refreshList() {
  const current = document.getElementById("product-list");
  if (!current) return false;
  const response = await fetch(location.pathname + location.search, { headers: { accept: "text/html" } });
  if (!response.ok) return false;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const list = fresh.getElementById("product-list");
  if (!list) return false;
  current.replaceWith(document.adoptNode(list));
  const count = fresh.getElementById("products-count");
  if (count) document.getElementById("products-count")?.replaceWith(document.adoptNode(count));
  return true;
}

/** Which of these jobs are still pending or running: one request per 200 jobs (the API's
 * limit); a batch that could not be asked counts as still active. */
async function stillActive(ids) {
  const batches = [];
  for (let i = 0; i < ids.length; i += FOLLOW_BATCH) batches.push(ids.slice(i, i + FOLLOW_BATCH));
  const answers = await Promise.all(batches.map(async (batch) => {
    const query = new URLSearchParams([["status", "pending"], ["status", "running"], ["limit", String(FOLLOW_BATCH)]]);
    for (const id of batch) query.append("id", String(id));
    try {
      const page = await api("GET", `/api/jobs?${query}`);
      return page.items.map((job) => job.id);
    } catch {
      return batch;
    }
  }));
  return answers.flat();
}

/** Follow the jobs: the list shows each product as its check ends; a last toast says so. */
async function followJobs(jobs) {
  let waiting = jobs.map((job) => job.id);
  let shown = true;
  for (let round = 0; waiting.length && round < 300; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    const still = await stillActive(waiting);
    if (still.length < waiting.length) shown = await refreshList().catch(() => false);
    waiting = still;
  }
  if (waiting.length) return;
  const done = `${jobs.length === 1 ? "The product was" : "The products were"} checked.`;
  if (shown) {
    toast(done);
    return;
  }
  const show = el("a", { href: location.pathname + location.search }, ["Show them"]);
  toast(el("span", {}, [`${done} `, show]));
}

function rejectedOf(error) {
  const body = error instanceof ApiError ? error.body : null;
  return body?.rejected ?? body?.detail?.rejected ?? [];
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const urls = urlsOf(textarea.value);
  if (!urls.length) {
    showError("Paste at least one product page URL.");
    textarea.focus();
    return;
  }
  submit.disabled = true;
  status.textContent = `Adding ${urls.length} URL${urls.length === 1 ? "" : "s"}…`;
  try {
    const answer = await api("POST", "/api/products", { urls });
    const rejected = answer.rejected ?? [];
    announce(jobsOf(answer));
    followJobs(jobsOf(answer));
    if (answer.message) toast(answer.message, { kind: "error" });
    textarea.value = rejected.map((r) => r.url).join("\n");
    status.textContent = `${answer.accepted?.length ?? urls.length} added; prices appear once checked.`;
    if (rejected.length) showError(`${rejected.length} URL${rejected.length === 1 ? " was" : "s were"} not added:`, rejected);
  } catch (error) {
    status.textContent = "";
    showError(error.message, rejectedOf(error));
    textarea.focus();
  } finally {
    submit.disabled = false;
  }
});

// Ctrl/Cmd+Enter submits from the textarea.
textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
