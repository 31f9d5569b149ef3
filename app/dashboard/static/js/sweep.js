// One sweep's page: the server-rendered report (/dashboard/sweeps/{id}/report: status, the FID
// against energy scatter with its Pareto front, the points table), and while the sweep runs its
// event stream (/v1/sweeps/{id}/events, every point's events) updating each point's progress,
// the report re-read as points finish; sortable columns, CSV and JSON downloads, Cancel.
import { $, $$, api, download, getText, jsonOf, progressText, showError, start, streamEvents } from "./common.js";

const root = $("#sweep-root");
const sweepId = root.dataset.sweepId;
const base = `/v1/sweeps/${sweepId}`;
const ACTIVE = ["queued", "running"];
const TERMINAL = ["succeeded", "failed", "cancelled"];
const events = []; // every event seen, in order (the tests read it)
const sort = { col: null, dir: 1 };
let reloading = null;

async function loadReport() {
  const html = await getText(`/dashboard/sweeps/${sweepId}/report`);
  const report = $("#report");
  report.innerHTML = html;
  const status = $("#sweep-report", report).dataset.status;
  root.dataset.status = status;
  document.title = `Sweep ${sweepId.slice(0, 8)} (${status}) · spindiff dashboard`;
  wire(report);
  return status;
}

// After points finish, re-read the report (at most about once a second).
function scheduleReload() {
  if (reloading) return;
  reloading = setTimeout(() => {
    reloading = null;
    loadReport().catch((error) => showError($("#sweep-error"), error));
  }, 800);
}

function width(element, fraction) {
  element.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
}

function wire(report) {
  for (const fill of $$(".mini-fill", report)) {
    const row = fill.closest("tr");
    const step = Number(fill.dataset.step), total = Number(fill.dataset.total);
    width(fill, row?.dataset.status === "succeeded" ? 1 : total ? step / total : 0);
  }
  const overall = $("#sweep-fill", report);
  if (overall) width(overall, Number(overall.dataset.fraction));
  for (const button of $$("button.sort", report)) button.addEventListener("click", () => sortBy(button.dataset.col));
  applySort();
  $("#cancel-button", report)?.addEventListener("click", cancel);
  $("#csv-download", report)?.addEventListener("click", (event) => save(event.target, `spindiff-sweep-${sweepId.slice(0, 8)}.csv`));
  $("#json-download", report)?.addEventListener("click", (event) => save(event.target, `spindiff-sweep-${sweepId.slice(0, 8)}.json`));
  const info = $("#point-info", report);
  for (const dot of $$("svg a.pt", report)) {
    const row = $(`#points-body tr[data-point="${dot.dataset.point}"]`, report);
    const on = () => { info.textContent = dot.getAttribute("aria-label"); row?.classList.add("hover"); dot.classList.add("hover"); };
    const off = () => { row?.classList.remove("hover"); dot.classList.remove("hover"); };
    dot.addEventListener("mouseenter", on);
    dot.addEventListener("focus", on);
    dot.addEventListener("mouseleave", off);
    dot.addEventListener("blur", off);
  }
}

// ---- sorting ----------------------------------------------------------------------------------

function sortBy(col) {
  if (sort.col === col) sort.dir = -sort.dir;
  else { sort.col = col; sort.dir = 1; }
  applySort();
}

function applySort() {
  const body = $("#points-body");
  if (!body || !sort.col) return;
  const key = (tr) => tr.querySelector(`td[data-col="${CSS.escape(sort.col)}"]`)?.dataset.sort ?? "";
  const index = (tr) => Number(tr.dataset.point);
  const rows = $$("tr", body).sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === "" || y === "") return (x === "") - (y === "") || index(a) - index(b); // no value: last either way
    const nx = Number(x), ny = Number(y);
    const order = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    return order * sort.dir || index(a) - index(b);
  });
  body.append(...rows);
  for (const th of $$("#points-table th[data-col]")) {
    th.setAttribute("aria-sort", th.dataset.col === sort.col ? (sort.dir > 0 ? "ascending" : "descending") : "none");
  }
}

// ---- downloads and cancel ---------------------------------------------------------------------

async function save(button, filename) {
  button.disabled = true;
  try {
    const response = await api(button.dataset.url);
    if (!response.ok) await jsonOf(response);
    download(URL.createObjectURL(await response.blob()), filename);
  } catch (error) {
    showError($("#sweep-error"), error);
  } finally {
    button.disabled = false;
  }
}

async function cancel(event) {
  const button = event.target;
  button.disabled = true;
  button.textContent = "Cancelling…";
  try {
    await jsonOf(await api(`${base}/cancel`, { method: "POST" }));
    await loadReport();
  } catch (error) {
    showError($("#sweep-error"), error);
    button.disabled = false;
    button.textContent = "Cancel sweep";
  }
}

// ---- live progress ----------------------------------------------------------------------------

function updatePoint(data, event) {
  const row = $(`#points-body tr[data-point="${data.point}"]`);
  if (!row) return;
  const status = event === "progress" ? "running" : event;
  if (![...ACTIVE, ...TERMINAL].includes(status)) return;
  row.dataset.status = status;
  const badge = $("td[data-col=status] .badge", row);
  badge.textContent = status;
  badge.className = `badge status-${status}`;
  $(".mini-track", row).className = `mini-track status-${status}`;
  const fill = $(".mini-fill", row);
  if (event === "progress") {
    fill.dataset.step = String(data.step);
    fill.dataset.total = String(data.total);
  }
  const step = Number(fill.dataset.step), total = Number(fill.dataset.total);
  width(fill, status === "succeeded" ? 1 : total ? step / total : 0);
  $(".mini-text", row).textContent = TERMINAL.includes(status) ? (total ? `step ${step} / ${total}` : "") : progressText(status, event === "progress" ? data : {});
  summarise();
}

// The head's counts and progress bar from the rows' statuses, between two reads of the report.
function summarise() {
  const rows = $$("#points-body tr");
  const counts = {};
  for (const row of rows) counts[row.dataset.status] = (counts[row.dataset.status] || 0) + 1;
  const order = ["running", "queued", "succeeded", "failed", "cancelled", "expired"];
  $("#sweep-counts").textContent = order.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(" · ");
  const finished = rows.filter((row) => !ACTIVE.includes(row.dataset.status)).length;
  $("#sweep-progress-text").textContent = `${finished} of ${rows.length} point${rows.length === 1 ? "" : "s"} finished`;
  width($("#sweep-fill"), rows.length ? finished / rows.length : 0);
  const badge = $("#sweep-status");
  if (counts.running && badge.textContent !== "cancelling") { badge.textContent = "running"; badge.className = "badge status-running"; }
}

function watch() {
  const state = $("#stream-state");
  state.hidden = false;
  const onState = (value) => {
    state.className = `stream-state ${value}`;
    state.textContent = value === "live" ? "live: every point's progress" : "reconnecting…";
  };
  return streamEvents(`${base}/events`, ({ event, data }) => {
    events.push({ event, point: data?.point });
    if (event === "sweep") return true;
    if (data && data.point !== undefined) updatePoint(data, event);
    if (TERMINAL.includes(event)) scheduleReload();
    return false;
  }, { onState }).then(async () => {
    state.hidden = true;
    clearTimeout(reloading);
    reloading = null;
    await loadReport();
  });
}

window.spindiffSweepEvents = events;
start(async () => {
  try {
    const status = await loadReport();
    if (ACTIVE.includes(status)) await watch();
  } catch (error) {
    $("#report").replaceChildren();
    showError($("#sweep-error"), error);
  }
});
