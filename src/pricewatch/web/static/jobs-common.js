// What the jobs console and a job's page share: labels, progress, and the job actions.
import { api, el, formatDuration, jobToast, relativeTime, toast } from "./app.js";

export const KIND_LABELS = {
  scrape_product: "Check product",
  scrape_all: "Scrape all",
  maintenance: "Maintenance",
  discover: "Discover",
  sync_catalog: "Sync catalog",
  backup: "Backup",
};

export const isActive = (job) => job.status === "pending" || job.status === "running";
export const isRetryable = (job) => ["failed", "partial", "cancelled"].includes(job.status);

/** "Out of stock" from "out_of_stock". */
export function label(value) {
  const text = String(value ?? "unknown").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Percent done (a finished job without a total counts as 100). */
export function percent(job) {
  const { total, completed } = job.progress;
  if (total) return Math.round((completed / total) * 100);
  return isActive(job) ? 0 : 100;
}

/** What the job works on: its current item, URL, or filter in words. */
export function subject(job) {
  if (job.progress.current) return job.progress.current;
  if (job.params?.url) return job.params.url;
  if (Array.isArray(job.params?.urls)) return `${job.params.urls.length} URLs`;
  if (job.kind === "scrape_all") return job.params?.filter ? "filtered products" : "every enabled product";
  return "";
}

/** Seconds the job ran (or has been running). */
export function seconds(job) {
  if (!job.started_at) return null;
  const end = job.finished_at ? new Date(job.finished_at) : new Date();
  return (end - new Date(job.started_at)) / 1000;
}

export function badge(status) {
  return el("span", { class: `badge ${status}` }, [label(status)]);
}

export function progressText(job) {
  const { total, completed } = job.progress;
  if (total) return `${completed} of ${total} · ${percent(job)}%`;
  return isActive(job) ? "waiting to start" : `${percent(job)}%`;
}

/** The progress bar and its caption (as the _macros.html `progress` macro renders them). */
export function progressNodes(job, large = false) {
  const bar = el("progress", {
    class: `progress ${job.status}${large ? " large" : ""}`,
    max: "100",
    value: String(percent(job)),
    "aria-label": `Progress of job #${job.id}`,
  }, [`${percent(job)}%`]);
  const caption = el("div", { class: "progress-text", "data-field": "progress-text" }, [progressText(job)]);
  return [bar, caption];
}

/** Cancel / Retry buttons for a job. */
export function actionButtons(job) {
  const buttons = [];
  if (isActive(job)) {
    const pending = job.cancel_requested;
    buttons.push(el("button", {
      type: "button", class: "small danger", "data-action": "cancel", "data-job": job.id, disabled: pending,
    }, [pending ? "Cancelling…" : "Cancel"]));
  }
  if (isRetryable(job)) {
    buttons.push(el("button", { type: "button", class: "small", "data-action": "retry", "data-job": job.id }, ["Retry"]));
  }
  return buttons;
}

export function timeNode(value) {
  if (!value) return el("span", { class: "muted" }, ["—"]);
  return el("time", { datetime: value, "data-relative": "", title: new Date(value).toLocaleString() }, [relativeTime(value)]);
}

export { formatDuration };

/** Run a cancel or retry button's action; `onDone` refreshes the page's view. */
export async function runAction(button, onDone) {
  const id = button.dataset.job;
  button.disabled = true;
  try {
    if (button.dataset.action === "cancel") {
      await api("POST", `/api/jobs/${id}/cancel`);
      toast(`Cancelling job #${id}`);
    } else {
      const { job } = await api("POST", `/api/jobs/${id}/retry`);
      jobToast(job, "Retry: ");
    }
  } catch (error) {
    toast(error.message, { kind: "error" });
    button.disabled = false;
  }
  onDone?.();
}
