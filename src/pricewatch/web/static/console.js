// The jobs console: stats and the job list, polled every POLL_MS while the page is visible.
import { api, confirmAction, el, jobToast, toast } from "./app.js";
import {
  KIND_LABELS, actionButtons, badge, formatDuration, isActive, progressNodes, runAction, seconds, subject, timeNode,
} from "./jobs-common.js";

const POLL_MS = 1500;
const table = document.getElementById("jobs-table");
const body = document.getElementById("jobs-body");
const limit = Number(table.dataset.limit) || 50;
let timer = null;

/** One row of the table (same markup as the job_row macro in _macros.html). */
function jobRow(job) {
  const what = subject(job);
  return el("tr", { class: "job-row", "data-job-id": job.id, "data-status": job.status }, [
    el("td", {}, [el("a", { href: `/jobs/${job.id}` }, [`#${job.id}`])]),
    el("td", {}, [
      el("span", { class: "job-kind" }, [KIND_LABELS[job.kind] ?? job.kind]),
      el("div", { class: "job-current", title: what }, [what]),
    ]),
    el("td", {}, [
      badge(job.status),
      ...(job.error && !isActive(job) ? [el("div", { class: "job-error", title: job.error }, [job.error])] : []),
    ]),
    el("td", {}, progressNodes(job)),
    el("td", { class: "hide-sm when" }, [timeNode(job.created_at)]),
    el("td", { class: "num hide-sm when" }, [formatDuration(seconds(job))]),
    el("td", { class: "actions" }, actionButtons(job)),
  ]);
}

function renderJobs(jobs, total) {
  const focused = document.activeElement?.closest?.("[data-action]");
  const keep = focused && { job: focused.dataset.job, action: focused.dataset.action };
  body.replaceChildren(...jobs.map(jobRow));
  document.getElementById("jobs-empty").hidden = jobs.length > 0;
  document.getElementById("jobs-count").textContent = `${jobs.length} of ${total}`;
  if (keep) body.querySelector(`[data-job="${keep.job}"][data-action="${keep.action}"]`)?.focus();
}

const STAT_FORMATS = {
  queued: (s) => s.queued,
  running: (s) => s.running,
  total: (s) => s.last_24h.total,
  failed: (s) => s.last_24h.failed,
  success_rate: (s) => (s.last_24h.success_rate == null ? "—" : `${Math.round(s.last_24h.success_rate * 100)}%`),
  average_duration_seconds: (s) => formatDuration(s.last_24h.average_duration_seconds),
};

function renderStats(stats) {
  for (const node of document.querySelectorAll("[data-stat]")) {
    node.textContent = String(STAT_FORMATS[node.dataset.stat](stats) ?? "—");
  }
}

async function refresh() {
  try {
    const [list, stats] = await Promise.all([
      api("GET", `/api/jobs?limit=${limit}`),
      api("GET", "/api/jobs/stats"),
    ]);
    renderJobs(list.items, list.total);
    renderStats(stats);
    setLive("Live");
  } catch (error) {
    setLive(`Paused: ${error.message}`);
  }
}

function setLive(text) {
  document.getElementById("live-state").textContent = text;
}

function schedule() {
  clearTimeout(timer);
  if (document.visibilityState !== "visible") return;
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, POLL_MS);
}

async function refreshNow() {
  await refresh();
  schedule();
}

body.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) runAction(button, refreshNow);
});

document.getElementById("scrape-all").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const { job } = await api("POST", "/api/jobs", { kind: "scrape_all" });
    jobToast(job);
  } catch (error) {
    toast(error.message, { kind: "error" });
  }
  button.disabled = false;
  refreshNow();
});

document.getElementById("cancel-all").addEventListener("click", async () => {
  const sure = await confirmAction("Every queued and running job will be cancelled.", {
    title: "Cancel all jobs?", ok: "Cancel all jobs", danger: true,
  });
  if (!sure) return;
  try {
    const { cancelled } = await api("POST", "/api/jobs/cancel-all");
    toast(cancelled.length ? `Cancelling ${cancelled.length} job${cancelled.length === 1 ? "" : "s"}` : "No job was running");
  } catch (error) {
    toast(error.message, { kind: "error" });
  }
  refreshNow();
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshNow();
  else clearTimeout(timer);
});

refreshNow();
