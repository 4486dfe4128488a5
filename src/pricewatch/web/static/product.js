// The product page's actions: check now, the schedule form, delete.
import { api, confirmAction, el, toast } from "./app.js";

const CHECK_POLL_MS = 1500;
const checkButton = document.getElementById("check-now");
const productId = checkButton.dataset.productId;

/** Wait for a job to end (polling), then tell the chart to redraw. */
async function followCheck(jobId) {
  for (let tries = 0; tries < 120; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, CHECK_POLL_MS));
    const job = await api("GET", `/api/jobs/${jobId}`).catch(() => null);
    if (job && !["pending", "running"].includes(job.status)) {
      document.dispatchEvent(new CustomEvent("pricewatch:checked", { detail: job }));
      const reload = el("a", { href: location.pathname }, ["Reload"]);
      toast(el("span", {}, [`Check #${jobId} ${job.status}. `, reload, " to update the page."]));
      return;
    }
  }
}

checkButton.addEventListener("click", async () => {
  checkButton.disabled = true;
  try {
    const { job } = await api("POST", `/api/products/${productId}/check`);
    toast(el("span", {}, ["Checking now: ", el("a", { href: `/jobs/${job.id}` }, [`Job #${job.id}`]), " created"]));
    followCheck(job.id).finally(() => { checkButton.disabled = false; });
  } catch (error) {
    toast(error.message, { kind: "error" });
    checkButton.disabled = false;
  }
});

document.getElementById("schedule").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const body = {
    enabled: form.elements.enabled.checked,
    check_interval_hours: Number(form.elements.interval.value),
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("PATCH", `/api/products/${productId}`, body);
    toast(body.enabled ? "Schedule saved" : "Schedule saved: automatic checks are paused");
  } catch (error) {
    toast(error.message, { kind: "error" });
  } finally {
    button.disabled = false;
  }
});

document.getElementById("delete-product").addEventListener("click", async (event) => {
  const { title } = event.currentTarget.dataset;
  const sure = await confirmAction(`“${title}” and its whole price history will be deleted.`, {
    title: "Delete this product?", ok: "Delete", danger: true,
  });
  if (!sure) return;
  try {
    await api("DELETE", `/api/products/${productId}`);
    sessionStorage.setItem("pricewatch:toast", `Deleted “${title}”`);
    location.assign("/");
  } catch (error) {
    toast(error.message, { kind: "error" });
  }
});
