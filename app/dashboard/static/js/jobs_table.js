// The jobs page's table: one page of jobs live from /dashboard/jobs/stream (app/dashboard/jobs_table.py
// picks the page, its filters and results server-side), thumbnails, paging to older jobs, filters by
// status and profile, search by id, queue positions, and the 2–4 finished jobs ticked for comparison.
// The page and filters live in the address (?status=…&profile=…&q=…&before=…), so a reload keeps them.
import { $, ago, api, getJson, progressText, queueText, seconds, streamEvents } from "./common.js";

const selected = new Set(); // job ids ticked for comparison
const succeeded = new Set();
const thumbs = new Map(); // job id → object URL of its thumbnail (fetched once, with the key)
const FILTERS = ["status", "profile", "q"];
let view = { status: "", profile: "", q: "", before: "" }; // what the table shows now
let newer = []; // the cursors of the pages before this one ("Newer" goes back)
let streaming = null; // AbortController of the open stream
let lastNext = null;

function cell(className, label, ...children) {
  const td = document.createElement("td");
  td.className = className;
  if (label) td.dataset.label = label;
  td.append(...children);
  return td;
}

function thumbnail(job) {
  const holder = document.createElement("span");
  holder.className = "thumb";
  if (!job.thumbnail) return holder;
  const img = document.createElement("img");
  img.alt = job.status === "succeeded" ? `images of job ${job.id.slice(0, 8)}` : `last preview of job ${job.id.slice(0, 8)}, step ${job.progress?.step}`;
  img.width = 48;
  img.height = 48;
  if (thumbs.has(job.id)) img.src = thumbs.get(job.id);
  else {
    api(`/dashboard/jobs/${job.id}/thumbnail.png`).then(async (response) => {
      if (!response.ok) return;
      thumbs.set(job.id, URL.createObjectURL(await response.blob()));
      img.src = thumbs.get(job.id);
    }).catch(() => {});
  }
  holder.append(img);
  return holder;
}

function line(text) {
  const span = document.createElement("span");
  span.className = "line";
  span.textContent = text;
  return span;
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
  const edit = document.createElement("a"); // the form, filled with this job's request (form.js takes the click)
  edit.className = "edit-link";
  edit.href = `/?from=${job.id}`;
  edit.textContent = "Edit and run";
  edit.setAttribute("aria-label", `edit and run job ${job.id.slice(0, 8)}`);
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
  text.textContent = job.status === "queued" ? queueText(job.queue) : progressText(job.status, job.progress);
  if (job.status === "failed" || job.status === "cancelled") {
    const step = job.progress?.step || 0;
    text.textContent = step ? `stopped at step ${step} / ${job.progress?.total || job.steps}` : "before its first step";
  }
  const created = document.createElement("time");
  created.className = "created";
  created.dateTime = job.created_at;
  created.title = `created ${job.created_at}`;
  created.textContent = ago(job.created_at);
  const profile = cell("profile", "", job.profile);
  profile.title = job.profile_full;
  const kid = cell("kid num", "KID", job.kid === undefined || job.kid === null ? "—" : job.kid.toFixed(4));
  if (job.kid_text) kid.title = `batch KID ${job.kid_text}`;
  const images = `${job.num_images} image${job.num_images === 1 ? "" : "s"}`;
  tr.append(
    cell("select", "", box), cell("thumb-cell", "", thumbnail(job)), cell("job", "", link, created, edit),
    cell("status progress-cell", "", badge, track, text), profile,
    cell("sampler", "", line(`${(job.sampler || "").toUpperCase()} · ${job.steps} steps`), line(images)),
    cell("energy num", "energy/image", job.energy_text || "—"), kid,
    cell("duration num", "took", job.duration_s === null || job.duration_s === undefined ? "—" : seconds(job.duration_s)),
  );
  return tr;
}

function syncCompare() {
  for (const id of [...selected]) if (!succeeded.has(id)) selected.delete(id);
  const button = $("#compare-button");
  button.disabled = selected.size < 2 || selected.size > 4;
  button.textContent = selected.size ? `Compare selected (${selected.size})` : "Compare selected";
}

function filtered() {
  return FILTERS.some((name) => view[name]);
}

function render(snapshot) {
  succeeded.clear();
  snapshot.items.filter((job) => job.status === "succeeded").forEach((job) => succeeded.add(job.id));
  $("#jobs-body").replaceChildren(...snapshot.items.map(row));
  $("#jobs-empty").hidden = snapshot.items.length > 0;
  $("#jobs-empty").textContent = filtered() || view.before ? "No jobs match these filters on this page." : "No jobs yet: submit one with the form.";
  const counts = snapshot.counts || {};
  $("#counts").textContent = ["running", "queued", "succeeded", "failed", "cancelled"]
    .filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(" · ");
  if (!snapshot.workers && (counts.queued || 0) > 0) $("#counts").textContent += " · no worker alive: queued jobs wait";
  lastNext = snapshot.next;
  $("#older-button").disabled = snapshot.next === null || snapshot.next === undefined;
  $("#newer-button").disabled = !view.before;
  $("#page-state").textContent = [
    view.before ? `page ${newer.length + 1}` : "newest",
    snapshot.scanned_to !== null && snapshot.scanned_to !== undefined ? "only part of the history searched: Older searches on" : "",
  ].filter(Boolean).join(" · ");
  syncCompare();
}

function query() {
  const params = new URLSearchParams();
  for (const name of [...FILTERS, "before"]) if (view[name]) params.set(name, view[name]);
  return params;
}

// Show `view`: the address follows it, the stream restarts with it.
function show() {
  const params = query();
  const address = new URLSearchParams(location.search);
  for (const name of [...FILTERS, "before"]) address.delete(name);
  for (const [name, value] of params) address.set(name, value);
  history.replaceState(null, "", `${location.pathname}${address.size ? `?${address}` : ""}`);
  streaming?.abort();
  streaming = new AbortController();
  const state = $("#stream-state");
  const onState = (value) => {
    state.className = `stream-state ${value}`;
    state.textContent = value === "live" ? "live" : "reconnecting…";
  };
  const signal = streaming.signal;
  streamEvents(`/dashboard/jobs/stream${params.size ? `?${params}` : ""}`, ({ event, data }) => {
    if (event === "jobs" && !signal.aborted) render(data);
    return false;
  }, { onState, signal }).catch((error) => {
    onState("down");
    state.textContent = error.message;
  });
}

function setFilter(name, value) {
  if (view[name] === value) return;
  view = { ...view, [name]: value, before: "" };
  newer = [];
  show();
}

async function fillProfiles() {
  const menu = $("#filter-profile");
  const list = await getJson("/v1/profiles");
  const names = list.map((p) => p.name);
  if (view.profile && !names.includes(view.profile)) names.push(view.profile);
  menu.append(...names.map((name) => new Option(name, name, false, name === view.profile)));
}

export function setUpJobs() {
  const address = new URLSearchParams(location.search);
  const preselect = address.get("compare");
  if (preselect) selected.add(preselect);
  for (const name of [...FILTERS, "before"]) view[name] = address.get(name) || "";
  $("#filter-status").value = view.status;
  $("#filter-q").value = view.q;
  $("#compare-button").addEventListener("click", () => location.assign(`/compare?ids=${[...selected].join(",")}`));
  $("#filter-status").addEventListener("change", (event) => setFilter("status", event.target.value));
  $("#filter-profile").addEventListener("change", (event) => setFilter("profile", event.target.value));
  const search = $("#filter-q");
  let typing = null;
  search.addEventListener("input", () => {
    const value = search.value.trim().toLowerCase();
    const ok = /^[a-z0-9_-]{0,64}$/.test(value);
    if (ok) search.removeAttribute("aria-invalid"); else search.setAttribute("aria-invalid", "true");
    $("#filter-q-error").textContent = ok ? "" : "an id has letters, digits, - and _ only";
    clearTimeout(typing);
    if (ok) typing = setTimeout(() => setFilter("q", value), 250); // one new stream per pause, not per key
  });
  $("#older-button").addEventListener("click", () => {
    if (lastNext === null || lastNext === undefined) return;
    newer.push(view.before);
    view = { ...view, before: String(lastNext) };
    show();
  });
  $("#newer-button").addEventListener("click", () => {
    view = { ...view, before: newer.pop() || "" };
    show();
  });
  fillProfiles().catch(() => {}); // the menu keeps "all profiles" alone
  show();
}
