// One job's page: progress, counts and the log, live from the job's server-sent event stream.
import { api, el, formatTime } from "./app.js";
import { actionButtons, badge, isActive, progressNodes, runAction, timeNode } from "./jobs-common.js";

const root = document.getElementById("job");
const jobId = root.dataset.jobId;
const log = document.getElementById("job-log");
const streamState = document.getElementById("stream-state");
const seen = new Set([...log.querySelectorAll("li")].map((li) => li.dataset.eventId));
let source = null;

function showJob(job) {
  root.dataset.status = job.status;
  document.getElementById("job-status").replaceChildren(badge(job.status));
  document.getElementById("job-progress").replaceChildren(...progressNodes(job, true));
  document.getElementById("job-current").textContent = job.progress.current ?? "";
  document.getElementById("job-actions").replaceChildren(...actionButtons(job));
  for (const [name, value] of Object.entries(job.counts ?? {})) {
    const node = document.querySelector(`[data-count="${name}"]`);
    if (node) node.textContent = String(value);
  }
  const error = document.getElementById("job-error");
  error.textContent = job.error ?? "";
  error.hidden = !job.error;
  if (job.finished_at) document.getElementById("job-finished").replaceChildren(timeNode(job.finished_at));
  showProducts(job.product_ids ?? []);
}

function showProducts(ids) {
  if (!ids.length) return;
  const links = ids.slice(0, 20).flatMap((id, i) => [i ? ", " : "", el("a", { href: `/products/${id}` }, [`#${id}`])]);
  if (ids.length > 20) links.push(` and ${ids.length - 20} more`);
  document.getElementById("job-products").replaceChildren(...links);
}

function appendLog(event) {
  const id = String(event.id);
  if (seen.has(id)) return;
  seen.add(id);
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.append(el("li", { "data-event-id": id }, [
    el("time", { datetime: event.at, title: new Date(event.at).toLocaleString() }, [formatTime(event.at)]),
    el("span", { class: `level ${event.level}` }, [event.level]),
    el("span", { class: "message" }, [event.message]),
  ]));
  if (stick) log.scrollTop = log.scrollHeight;
}

function connect() {
  source = new EventSource(`/api/jobs/${jobId}/stream`);
  source.addEventListener("open", () => { streamState.textContent = "live"; });
  source.addEventListener("progress", (e) => showJob(JSON.parse(e.data)));
  source.addEventListener("log", (e) => appendLog(JSON.parse(e.data)));
  source.addEventListener("end", (e) => {
    showJob(JSON.parse(e.data));
    streamState.textContent = "finished";
    source.close();
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) streamState.textContent = "disconnected";
    else streamState.textContent = "reconnecting…";
  });
}

async function reload() {
  try {
    const job = await api("GET", `/api/jobs/${jobId}`);
    showJob(job);
    for (const event of job.events ?? []) appendLog(event);
    if (isActive(job) && (!source || source.readyState === EventSource.CLOSED)) connect();
  } catch {
    // The stream (or the next action) will show the state.
  }
}

document.getElementById("job-actions").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) runAction(button, reload);
});

log.scrollTop = log.scrollHeight;
if (isActive({ status: root.dataset.status })) connect();
else reload();
