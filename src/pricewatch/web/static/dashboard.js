// The dashboard's "add products" form: posts the URLs to /api/products and shows the job.
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

/** Once every job has ended, offer to show the new products (the list is rendered server-side). */
async function followJobs(jobs) {
  let waiting = jobs.map((job) => job.id);
  for (let round = 0; waiting.length && round < 300; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    const states = await Promise.all(waiting.map((id) => api("GET", `/api/jobs/${id}`).catch(() => null)));
    waiting = waiting.filter((_, i) => !states[i] || ["pending", "running"].includes(states[i].status));
  }
  if (waiting.length) return;
  const show = el("a", { href: location.pathname + location.search }, ["Show them"]);
  toast(el("span", {}, [`${jobs.length === 1 ? "The product was" : "The products were"} checked. `, show]));
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
