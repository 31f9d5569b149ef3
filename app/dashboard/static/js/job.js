// The job page: the server-rendered report (/dashboard/jobs/{id}/report), and while the job is
// queued or running its event stream — progress, ETA, the current denoised estimate — and Cancel.
import { $, $$, api, blobUrl, download, getJson, getText, jsonOf, loadImages, progressText, queueText, showError, start, streamEvents } from "./common.js";

const root = $("#job-root");
const jobId = root.dataset.jobId;
const base = `/v1/generations/${jobId}`;
const steps = []; // every step shown, in order (the tests read it)
const QUEUE_POLL_MS = 3000; // a queued job's place in the queue is re-read this often (no event says it moved)
let watching = null;

async function loadReport() {
  const html = await getText(`/dashboard/jobs/${jobId}/report`);
  const report = $("#report");
  report.innerHTML = html;
  const status = $("#job-report", report).dataset.status;
  root.dataset.status = status;
  document.title = `Job ${jobId.slice(0, 8)} (${status}) · spindiff dashboard`;
  wireReport(report);
  await loadImages(report);
  return status;
}

function wireReport(report) {
  $("#rerun-button", report)?.addEventListener("click", rerun);
  $("#record-download", report)?.addEventListener("click", () => {
    const blob = new Blob([$("#record-json", report).textContent], { type: "application/json" });
    download(URL.createObjectURL(blob), `spindiff-${jobId.slice(0, 8)}-record.json`);
  });
  $("#grid-download", report)?.addEventListener("click", async (event) => {
    download(await blobUrl(event.target.dataset.url), `spindiff-${jobId.slice(0, 8)}-grid.png`);
  });
  for (const target of $$(".grid-hit .cell", report)) {
    const open = () => enlarge(Number(target.dataset.index), target.dataset.url);
    target.addEventListener("click", open);
    target.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } });
  }
  const from = new URLSearchParams(location.search).get("rerun_of");
  if (from) noteRerun(from).catch(() => {});
}

async function enlarge(index, url) {
  const dialog = $("#lightbox");
  const image = $("#lightbox-img");
  $("#lightbox-title").textContent = `Image ${index} of job ${jobId.slice(0, 8)}`;
  image.removeAttribute("src");
  image.alt = `image ${index}`;
  dialog.showModal();
  const source = await blobUrl(url);
  image.src = source;
  const link = $("#lightbox-download");
  link.href = source;
  link.download = `spindiff-${jobId.slice(0, 8)}-${index}.png`;
}

// "Run again": POST the exact request the server wrote into the page (its seeds as exact digits).
async function rerun(event) {
  event.target.disabled = true;
  try {
    const body = $("#rerun-body").textContent;
    const job = await jsonOf(await api("/v1/generations", { method: "POST", body, headers: { "Idempotency-Key": crypto.randomUUID() } }));
    location.assign(`/jobs/${job.id}?rerun_of=${jobId}`);
  } catch (error) {
    showError($("#job-error"), error);
    event.target.disabled = false;
  }
}

// On a re-run's page: does the record match the original's (same model, profile hash, code)?
async function noteRerun(originalId) {
  if (!/^[0-9a-f]{32}$/.test(originalId)) return;
  const note = $("#rerun-note");
  const [original, current] = await Promise.all([originalId, jobId].map((id) => api(`/v1/generations/${id}`).then(jsonOf)));
  const link = (href, text) => Object.assign(document.createElement("a"), { href, textContent: text });
  note.replaceChildren("Re-run of job ", link(`/jobs/${originalId}`, originalId.slice(0, 8)), ".");
  if (original.reproducibility && current.reproducibility) {
    const keys = ["model_sha256", "profile_hash", "code_version"];
    const differ = keys.filter((k) => original.reproducibility[k] !== current.reproducibility[k]);
    note.append(differ.length ? ` Differs from the original in: ${differ.join(", ")}. ` : " Same model, profile hash and code version as the original. ",
      link(`/compare?ids=${originalId},${jobId}`, "Compare the two"), ".");
  }
  note.hidden = false;
}

function showProgress(status, progress) {
  const { step = 0, total = 0 } = progress || {};
  const bar = $("#live-progress");
  if (step !== Number(bar.dataset.step)) steps.push(step);
  bar.dataset.step = String(step);
  bar.dataset.total = String(total);
  $("#live-fill").style.width = total ? `${(100 * step) / total}%` : "0%";
  if (status !== "queued") $("#live-text").textContent = progressText(status, progress);
  $("#live-status").textContent = status;
  $("#live-status").className = `badge status-${status}`;
  $("#live-title").textContent = status === "queued" ? "Waiting in the queue" : "Running";
  const badge = $("#job-status");
  if (badge) { badge.textContent = status; badge.className = `badge status-${status}`; }
}

function showPreview(data) {
  if (!data.preview_png_base64) return;
  const image = $("#preview");
  image.src = `data:image/png;base64,${data.preview_png_base64}`;
  image.hidden = false;
  image.dataset.step = String(data.step);
  $("#preview-caption").textContent = `Current estimate x̂₀ of the final images after step ${data.step} of ${data.total}.`;
}

// While the job waits: its place in the Celery queue, until it starts or the page stops watching.
async function followQueue(signal, isQueued) {
  while (!signal.aborted && isQueued()) {
    try {
      const place = await getJson(`/dashboard/jobs/${jobId}/queue`);
      if (!isQueued() || place.status !== "queued") return;
      $("#live-text").textContent = queueText(place);
    } catch { /* the next try, or the event stream, tells */ }
    await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
  }
}

function watch(initial) {
  const live = $("#live");
  $("#job-report .head")?.after(live); // under the job's summary
  live.hidden = false;
  let status = initial;
  showProgress(status, {});
  watching = new AbortController();
  if (status === "queued") $("#live-text").textContent = queueText(null);
  followQueue(watching.signal, () => status === "queued");
  const done = streamEvents(`${base}/events?preview=true`, ({ event, data }) => {
    if (event === "queued" || event === "running") { status = event; showProgress(status, {}); }
    if (event === "progress") { status = "running"; showProgress(status, data); showPreview(data); }
    return ["succeeded", "failed", "cancelled"].includes(event);
  }, { signal: watching.signal });
  return done.then(async () => {
    watching.abort();
    live.hidden = true;
    $("#job-root").append(live); // out of the report, which is replaced now
    await loadReport();
  });
}

async function cancel(event) {
  event.target.disabled = true;
  event.target.textContent = "Cancelling…";
  try {
    await jsonOf(await api(`${base}/cancel`, { method: "POST" }));
  } catch (error) {
    showError($("#job-error"), error);
    event.target.disabled = false;
    event.target.textContent = "Cancel job";
  }
}

window.spindiffSteps = steps;
start(async () => {
  $("#cancel-button").addEventListener("click", cancel);
  $("#lightbox-close").addEventListener("click", () => $("#lightbox").close());
  try {
    const status = await loadReport();
    if (status === "queued" || status === "running") await watch(status);
  } catch (error) {
    $("#report").replaceChildren();
    showError($("#job-error"), error);
  }
});
