// The jobs page's table: the newest jobs live from /dashboard/jobs/stream, with the 2–4 finished
// jobs ticked for comparison.
import { $, ago, progressText, streamEvents } from "./common.js";

const selected = new Set(); // job ids ticked for comparison
const succeeded = new Set();

function cell(className, label, ...children) {
  const td = document.createElement("td");
  td.className = className;
  if (label) td.dataset.label = label;
  td.append(...children);
  return td;
}

function row(job) {
  const tr = document.createElement("tr");
  tr.dataset.jobId = job.id;
  tr.dataset.status = job.status;
  const box = document.createElement("input");
  box.type = "checkbox";
  box.setAttribute("aria-label", `compare job ${job.id.slice(0, 8)}`);
  box.disabled = job.status !== "succeeded";
  box.checked = selected.has(job.id);
  box.addEventListener("change", () => {
    if (box.checked) selected.add(job.id); else selected.delete(job.id);
    syncCompare();
  });
  const link = document.createElement("a");
  link.href = `/jobs/${job.id}`;
  link.innerHTML = "<code></code>";
  link.firstChild.textContent = job.id.slice(0, 8);
  const badge = document.createElement("span");
  badge.className = `badge status-${job.status}`;
  badge.textContent = job.cancel_requested && job.status === "running" ? "cancelling" : job.status;
  if (job.error) badge.title = job.error;
  const track = document.createElement("div");
  track.className = `mini-track status-${job.status}`;
  const fill = document.createElement("div");
  fill.className = "mini-fill";
  fill.style.width = `${Math.round((job.progress?.fraction || 0) * 100)}%`;
  track.append(fill);
  const text = document.createElement("span");
  text.className = "mini-text";
  text.textContent = progressText(job.status, job.progress);
  const created = document.createElement("time");
  created.dateTime = job.created_at;
  created.title = job.created_at;
  created.textContent = ago(job.created_at);
  tr.append(
    cell("select", "", box), cell("job", "", link), cell("status", "", badge), cell("progress-cell", "", track, text),
    cell("profile", "", job.profile), cell("sampler", "", `${(job.sampler || "").toUpperCase()} · ${job.steps} steps`),
    cell("images", "", String(job.num_images)), cell("created", "", created),
  );
  return tr;
}

function syncCompare() {
  for (const id of [...selected]) if (!succeeded.has(id)) selected.delete(id);
  const button = $("#compare-button");
  button.disabled = selected.size < 2 || selected.size > 4;
  button.textContent = selected.size ? `Compare selected (${selected.size})` : "Compare selected";
}

function render(snapshot) {
  succeeded.clear();
  snapshot.items.filter((job) => job.status === "succeeded").forEach((job) => succeeded.add(job.id));
  $("#jobs-body").replaceChildren(...snapshot.items.map(row));
  $("#jobs-empty").hidden = snapshot.items.length > 0;
  const counts = snapshot.counts || {};
  $("#counts").textContent = ["running", "queued", "succeeded", "failed", "cancelled"]
    .filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(" · ");
  if (!snapshot.workers && (counts.queued || 0) > 0) $("#counts").textContent += " · no worker alive: queued jobs wait";
  syncCompare();
}

export function setUpJobs() {
  const preselect = new URLSearchParams(location.search).get("compare");
  if (preselect) selected.add(preselect);
  $("#compare-button").addEventListener("click", () => location.assign(`/compare?ids=${[...selected].join(",")}`));
  const state = $("#stream-state");
  const onState = (value) => {
    state.className = `stream-state ${value}`;
    state.textContent = value === "live" ? "live" : "reconnecting…";
  };
  streamEvents("/dashboard/jobs/stream", ({ event, data }) => {
    if (event === "jobs") render(data);
    return false;
  }, { onState }).catch((error) => { onState("down"); state.textContent = error.message; });
}
