// The sweeps page: the "New sweep" form (a base profile and request, axes over the profile's
// parameters as value lists or ranges, POST /v1/sweeps; a 422 is shown at the field it names) and
// the list of sweeps with their status and counts (GET /v1/sweeps, re-read while any is active).
import { $, $$, ApiError, ago, api, bodyJson, errorItems, fieldHolder, getJson, jsonOf, showError, start, typed } from "./common.js";

const form = $("#sweep-form");
// "section.key" → the loader's type: "int", "float", "float | None", "bool", "str" (app/dashboard/sweeps.py)
const TYPES = JSON.parse($("#parameter-types").textContent);
const MAX_POINTS = Number(form.dataset.maxPoints);
const MAX_IMAGES = Number(form.dataset.maxImages);
const PREVIEW_VALUES = 8; // values listed in an axis's preview before "…"
const profiles = new Map(); // name → GET /v1/profiles/{name}
let current = {}; // "section.key" → the chosen profile's value

// ---- the axes ---------------------------------------------------------------------------------

const tidy = (value) => Number(value.toPrecision(6)); // 4.000000000000001e-9 → 4e-9
const show = (value) => (typeof value === "string" ? value : value === null ? "null" : String(value));
const numeric = (name) => ["int", "float", "float | None"].includes(TYPES[name]);

function parameters(detail) {
  const found = {};
  for (const [section, values] of Object.entries(detail.profile || {})) {
    if (!values || typeof values !== "object") continue;
    for (const [key, value] of Object.entries(values)) if (`${section}.${key}` in TYPES) found[`${section}.${key}`] = value;
  }
  return found;
}

function fillParameterMenu(select) {
  const chosen = select.value;
  const groups = new Map();
  for (const [name, value] of Object.entries(current)) {
    const [section, key] = name.split(".");
    if (!groups.has(section)) groups.set(section, Object.assign(document.createElement("optgroup"), { label: section }));
    groups.get(section).append(new Option(`${key} (${value === null ? "derived" : show(value)})`, name));
  }
  select.replaceChildren(new Option("choose a parameter…", ""), ...groups.values());
  select.value = chosen in current ? chosen : "";
}

// One axis's values as the API should see them, from the list or the range: {values, problem, note}.
function axisValues(row) {
  const name = $(".axis-param", row).value;
  const type = TYPES[name] || "str";
  if ($(".mode-range", row).checked) {
    const start = Number($(".axis-start", row).value.trim() || NaN);
    const stop = Number($(".axis-stop", row).value.trim() || NaN);
    const count = Number($(".axis-count", row).value.trim() || NaN);
    const log = $(".axis-scale", row).value === "log";
    if (!Number.isFinite(start) || !Number.isFinite(stop)) return { values: [], problem: "give a start and a stop (numbers)" };
    if (!Number.isInteger(count) || count < 1 || count > MAX_POINTS) return { values: [], problem: `count: a whole number from 1 to ${MAX_POINTS}` };
    if (log && (start <= 0 || stop <= 0)) return { values: [], problem: "a log range needs a start and stop above 0" };
    let values = Array.from({ length: count }, (_, k) => {
      const t = count === 1 ? 0 : k / (count - 1);
      return tidy(log ? start * (stop / start) ** t : start + (stop - start) * t);
    });
    let note = "";
    if (type === "int") {
      const rounded = [...new Set(values.map(Math.round))];
      if (rounded.some((v, k) => v !== values[k]) || rounded.length !== values.length) note = " (rounded to integers)";
      values = rounded;
    }
    return { values, note };
  }
  const items = $(".axis-values", row).value.split(",").map((text) => text.trim()).filter((text) => text !== "");
  const values = items.map((text) => {
    if (type === "bool") return /^(true|yes|1)$/i.test(text) ? true : /^(false|no|0)$/i.test(text) ? false : text;
    if (type === "int") return typed(text, { integer: true });
    if (type.startsWith("float")) return type.endsWith("None") && text === "null" ? null : typed(text);
    return text;
  });
  return { values, note: "" };
}

function syncRow(row) {
  const name = $(".axis-param", row).value;
  row.dataset.field = name ? `axes.${name}` : "axes";
  const canRange = name !== "" && numeric(name);
  $(".mode-range", row).disabled = !canRange;
  if (!canRange && $(".mode-range", row).checked) { $(".mode-list", row).checked = true; }
  const range = $(".mode-range", row).checked;
  $(".axis-list", row).hidden = range;
  $(".axis-range", row).hidden = !range;
  const profile = $("#f-profile").value;
  const value = current[name];
  $(".axis-current", row).textContent = name
    ? `${profile}: ${name} = ${value === null ? "derived (null)" : show(value)} · ${TYPES[name]}`
    : "";
  const { values, problem, note } = name ? axisValues(row) : { values: [] };
  row.dataset.count = String(values.length);
  const preview = $(".axis-preview", row);
  if (!name) preview.textContent = "";
  else if (problem) preview.textContent = `⚠ ${problem}`;
  else {
    const listed = values.slice(0, PREVIEW_VALUES).map(show).join(", ") + (values.length > PREVIEW_VALUES ? ", …" : "");
    preview.textContent = values.length ? `→ ${values.length} value${values.length === 1 ? "" : "s"}: ${listed}${note}` : "→ no values yet";
  }
  return { name, values, problem };
}

function syncPreview() {
  const rows = $$("#axis-rows .axis").map(syncRow).filter((r) => r.name);
  const images = Number($("#f-num_images").value.trim());
  const preview = $("#sweep-preview");
  if (!rows.length) { preview.textContent = "Add an axis: a parameter and its values."; preview.classList.remove("over"); return; }
  const counts = rows.map((r) => r.values.length);
  const points = counts.reduce((a, b) => a * b, 1);
  let text = counts.length > 1 ? `${counts.join(" × ")} = ${points} point${points === 1 ? "" : "s"}` : `${points} point${points === 1 ? "" : "s"}`;
  if (Number.isInteger(images) && images > 0) text += ` × ${images} image${images === 1 ? "" : "s"} = ${points * images} images`;
  const over = points > MAX_POINTS || (Number.isInteger(images) && points * images > MAX_IMAGES);
  if (over) text += ` — over the limit of ${MAX_POINTS} points and ${MAX_IMAGES} images per sweep`;
  preview.textContent = text;
  preview.classList.toggle("over", over);
  preview.dataset.points = String(points);
}

let rowSerial = 0;
function addAxis() {
  const row = $("#axis-template").content.firstElementChild.cloneNode(true);
  const serial = rowSerial++;
  for (const radio of $$("input[type=radio]", row)) radio.name = `axis-mode-${serial}`;
  fillParameterMenu($(".axis-param", row));
  $(".axis-remove", row).addEventListener("click", () => { row.remove(); syncPreview(); });
  row.addEventListener("input", syncPreview);
  row.addEventListener("change", syncPreview);
  $("#axis-rows").append(row);
  syncPreview();
  return row;
}

// ---- the form ---------------------------------------------------------------------------------

function samplerTakesEta() {
  return $("#f-sampler").selectedOptions[0]?.dataset.takesEta === "true";
}

function syncSampler() {
  const takesEta = samplerTakesEta();
  $("#f-eta").disabled = !takesEta;
  if (!takesEta) $("#f-eta").value = "0";
  $("#h-sampler").textContent = $("#f-sampler").selectedOptions[0]?.dataset.description || "";
}

// {body, problems: [{row, message}]}: what the form says, and what cannot be sent as it is.
function build() {
  const problems = [];
  const axes = {};
  for (const row of $$("#axis-rows .axis")) {
    const { name, values, problem } = syncRow(row);
    if (!name) { problems.push({ holder: row, message: "choose a parameter (or remove this axis)" }); continue; }
    if (problem) { problems.push({ holder: row, message: problem }); continue; }
    if (name in axes) { problems.push({ holder: row, message: `${name} is already an axis above` }); continue; }
    axes[name] = values;
  }
  if (!$$("#axis-rows .axis").length) problems.push({ holder: $("fieldset.axes"), message: "add at least one axis" });
  const body = {
    model: $("#f-model").value,
    profile: $("#f-profile").value,
    axes,
    num_images: typed($("#f-num_images").value, { integer: true }),
    sampler: $("#f-sampler").value,
    steps: typed($("#f-steps").value, { integer: true }),
    chip_seed: typed($("#f-chip_seed").value, { integer: true }),
  };
  if ($("#f-emulation").value) body.emulation = $("#f-emulation").value;
  if (samplerTakesEta()) body.eta = typed($("#f-eta").value);
  if ($("#f-seed").value.trim() !== "") body.seed = typed($("#f-seed").value, { integer: true });
  return { body, problems };
}

function clearErrors() {
  $$("#sweep-form .error").forEach((element) => { element.textContent = ""; });
  $$("#sweep-form [aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
  $("#form-error").hidden = true;
}

function mark(holder, message) {
  const box = holder.querySelector(":scope > .error");
  if (!box.textContent) box.textContent = message;
  const inputs = holder.classList.contains("axis")
    ? $$(holder.querySelector(".mode-range").checked ? ".axis-range input" : ".axis-values", holder)
    : $$(":scope > input, :scope > select", holder);
  inputs.forEach((input) => input.setAttribute("aria-invalid", "true"));
}

// Each error at its field: the longest prefix of error.field that a field of the form carries as
// data-field (an axis row carries "axes.<parameter>"); the rest above the form.
function showFieldErrors(error) {
  const loose = [];
  for (const item of errorItems(error)) {
    const holder = fieldHolder(form, item.field);
    if (holder) mark(holder, item.message); else loose.push(item.message);
  }
  if (loose.length) showError($("#form-error"), loose.join(" · "));
  $("#sweep-form [aria-invalid=true]")?.scrollIntoView({ block: "center", behavior: "smooth" });
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const { body, problems } = build();
  const state = $("#submit-state");
  if (problems.length) {
    problems.forEach(({ holder, message }) => mark(holder, message));
    state.textContent = "fix the marked fields";
    return;
  }
  const button = $("#submit-button");
  button.disabled = true;
  state.textContent = "submitting…";
  try {
    const response = await api("/v1/sweeps", { method: "POST", body: bodyJson(body) });
    if (response.status === 422) {
      const payload = await response.json();
      showFieldErrors(new ApiError(422, payload.error));
      state.textContent = "nothing was queued: fix the marked fields";
      return;
    }
    const sweep = await jsonOf(response);
    state.textContent = "queued";
    location.assign(`/sweeps/${sweep.id}`);
  } catch (error) {
    showError($("#form-error"), error);
    state.textContent = "";
  } finally {
    button.disabled = false;
  }
}

async function showProfile(name) {
  if (!profiles.has(name)) profiles.set(name, await getJson(`/v1/profiles/${encodeURIComponent(name)}`));
  if ($("#f-profile").value !== name) return; // changed meanwhile
  const detail = profiles.get(name);
  current = parameters(detail);
  $("#h-profile").textContent = detail.description;
  const own = detail.profile?.crossbar?.emulation;
  $("#f-emulation").options[0].textContent = own ? `default (${own})` : "the profile's own";
  $("#h-emulation").textContent = "every point's crossbar model: exact (cell by cell) or statistical (reduced-order)";
  $$("#axis-rows .axis-param").forEach(fillParameterMenu);
  syncPreview();
}

async function setUpForm() {
  form.addEventListener("submit", submit);
  $("#f-sampler").addEventListener("change", syncSampler);
  syncSampler();
  $("#add-axis").addEventListener("click", () => $(".axis-param", addAxis()).focus());
  $("#f-num_images").addEventListener("input", syncPreview);
  $("#f-profile").addEventListener("change", () => showProfile($("#f-profile").value).catch((e) => showError($("#form-error"), e)));
  const [models, list] = await Promise.all([getJson("/v1/models"), getJson("/v1/profiles")]);
  const available = models.filter((m) => m.available);
  $("#f-model").replaceChildren(...available.map((m) => new Option(m.id, m.id)));
  const describeModel = () => {
    const m = available.find((candidate) => candidate.id === $("#f-model").value);
    const tuned = m?.hardware_aware ? ` · hardware-aware fine-tuning on ${m.hardware_aware.profile ?? "a chip"}` : "";
    $("#h-model").textContent = m ? `${(m.parameters / 1e6).toFixed(2)} M parameters · ${m.training_steps} training steps${tuned}` : "";
  };
  $("#f-model").addEventListener("change", describeModel);
  describeModel();
  const chip = list.filter((p) => p.name !== "software"); // a sweep varies chip parameters: software has none
  const chosen = $("#f-profile").value;
  $("#f-profile").replaceChildren(...chip.map((p) => new Option(p.name, p.name, false, p.name === chosen)));
  await showProfile($("#f-profile").value);
  addAxis();
  form.dataset.ready = "true";
}

// ---- the list ---------------------------------------------------------------------------------

const ACTIVE = ["queued", "running"];
const ORDER = ["running", "queued", "succeeded", "failed", "cancelled", "expired"];

function countsText(counts) {
  return Object.keys(counts).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).map((s) => `${counts[s]} ${s}`).join(" · ");
}

function cell(className, ...children) {
  const td = document.createElement("td");
  td.className = className;
  td.append(...children);
  return td;
}

function sweepRow(sweep) {
  const tr = document.createElement("tr");
  tr.dataset.sweepId = sweep.id;
  tr.dataset.status = sweep.status;
  const link = Object.assign(document.createElement("a"), { href: `/sweeps/${sweep.id}` });
  link.append(Object.assign(document.createElement("code"), { textContent: sweep.id.slice(0, 8) }));
  const badge = Object.assign(document.createElement("span"), {
    className: `badge status-${sweep.status}`,
    textContent: sweep.cancel_requested && ACTIVE.includes(sweep.status) ? "cancelling" : sweep.status,
  });
  const total = sweep.points.length;
  const finished = sweep.points.filter((p) => !ACTIVE.includes(p.status)).length;
  const track = Object.assign(document.createElement("div"), { className: `mini-track status-${sweep.status}` });
  const fill = Object.assign(document.createElement("div"), { className: "mini-fill" });
  fill.style.width = total ? `${Math.round((100 * finished) / total)}%` : "0%";
  track.append(fill);
  const counts = Object.assign(document.createElement("span"), { className: "mini-text counts-text", textContent: countsText(sweep.counts) });
  const axes = sweep.axes.map((axis) => `${axis} (${new Set(sweep.points.map((p) => JSON.stringify(p.values[axis]))).size})`).join(" × ");
  const created = document.createElement("time");
  const iso = new Date(sweep.created_at * 1000).toISOString();
  Object.assign(created, { dateTime: iso, title: iso, textContent: ago(iso) });
  const r = sweep.request;
  tr.append(
    cell("job", link), cell("status", badge), cell("progress-cell", track, counts), cell("axes", axes || "points"),
    cell("profile", `${r.profile}${r.emulation ? ` · ${r.emulation}` : ""}`), cell("images", `${total} × ${r.num_images}`),
    cell("created", created),
  );
  return tr;
}

async function refreshList() {
  const state = $("#list-state");
  let active = false;
  try {
    const page = await getJson("/v1/sweeps?limit=20");
    $("#sweeps-body").replaceChildren(...page.items.map(sweepRow));
    $("#sweeps-empty").hidden = page.items.length > 0;
    active = page.items.some((s) => ACTIVE.includes(s.status));
    state.className = "stream-state live";
    state.textContent = active ? "updating" : "up to date";
  } catch (error) {
    state.className = "stream-state down";
    state.textContent = error.message;
  }
  setTimeout(refreshList, document.hidden || !active ? 15000 : 3000);
}

start(async () => {
  refreshList();
  await setUpForm().catch((error) => showError($("#form-error"), error));
});
