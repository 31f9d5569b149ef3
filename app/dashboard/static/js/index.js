// The jobs page: the submit form (profile parameters as overrides, checked by the server before
// anything is queued); the live jobs table is jobs_table.js.
import { $, $$, ApiError, api, bodyJson, getJson, jsonOf, showError, start, typed } from "./common.js";
import { setUpJobs } from "./jobs_table.js";

const profiles = new Map(); // name → {profile, description, hash} from GET /v1/profiles/{name}
const OPEN_SECTIONS = ["crossbar", "rng"]; // the parameter groups shown unfolded

// ---- the form ---------------------------------------------------------------------------------

function overrides() {
  const found = {};
  for (const input of $$("#param-sections input[data-section]")) {
    const original = JSON.parse(input.dataset.original);
    let value;
    if (input.type === "checkbox") value = input.checked;
    else if (original === null) value = input.value.trim() === "" ? null : typed(input.value); // derived: empty keeps it derived
    else if (typeof original === "number") value = typed(input.value);
    else value = input.value;
    const same = typeof original === "number" && typeof value === "number" ? Math.abs(value - original) <= 1e-12 * Math.abs(original) : value === original;
    input.closest(".param").classList.toggle("changed", !same);
    if (!same) (found[input.dataset.section] ||= {})[input.dataset.key] = value;
  }
  const count = Object.values(found).reduce((n, section) => n + Object.keys(section).length, 0);
  $("#override-count").hidden = count === 0;
  $("#override-count").textContent = `${count} override${count === 1 ? "" : "s"}`;
  $("#reset-overrides").hidden = count === 0;
  return count ? found : null;
}

function formBody() {
  const profile = $("#f-profile").value;
  const sampler = $("#f-sampler").value;
  const body = {
    model: $("#f-model").value,
    num_images: typed($("#f-num_images").value, { integer: true }),
    sampler,
    steps: typed($("#f-steps").value, { integer: true }),
    chip_seed: typed($("#f-chip_seed").value, { integer: true }),
    hardware: profile,
    quality: { enabled: $("#f-quality").checked },
    preview: $("#f-preview").checked,
  };
  if (samplerTakesEta()) body.eta = typed($("#f-eta").value);
  if ($("#f-seed").value.trim() !== "") body.seed = typed($("#f-seed").value, { integer: true });
  const changed = profile === "software" ? null : overrides();
  if (changed) body.hardware = { profile, overrides: changed };
  return bodyJson(body);
}

function clearErrors() {
  $$("#gen-form .error").forEach((element) => { element.textContent = ""; });
  $$("#gen-form [aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
  $("#form-error").hidden = true;
}

// Show each error at its field: the longest prefix of error.field that names a field on the form.
function showFieldErrors(error) {
  const items = error.details?.length ? error.details : [{ field: error.field, message: error.message }];
  const loose = [];
  for (const item of items) {
    const parts = (item.field || "").split(".");
    let holder = null;
    while (parts.length && !holder) {
      const name = parts.join(".");
      holder = $(`#gen-form [data-field="${CSS.escape(name)}"]`) || $(`#gen-form [data-alias="${CSS.escape(name)}"]`);
      parts.pop();
    }
    if (!holder) { loose.push(item.message); continue; }
    const message = holder.querySelector(".error");
    if (!message.textContent) message.textContent = item.message;
    holder.querySelector("input, select")?.setAttribute("aria-invalid", "true");
    holder.closest("details")?.setAttribute("open", "");
  }
  if (loose.length) showError($("#form-error"), loose.join(" · "));
  const first = $("#gen-form [aria-invalid=true]");
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
}

// The server's dry run: the checks of POST /v1/generations with nothing queued.
async function validate() {
  const response = await api("/dashboard/validate", { method: "POST", body: formBody() });
  clearErrors();
  if (response.ok) return true;
  let error;
  try { await jsonOf(response); } catch (caught) { error = caught; }
  if (error instanceof ApiError && error.status === 422) showFieldErrors(error);
  else showError($("#form-error"), error);
  return false;
}

async function submit(event) {
  event.preventDefault();
  const button = $("#submit-button");
  button.disabled = true;
  $("#submit-state").textContent = "checking…";
  try {
    if (!(await validate())) { $("#submit-state").textContent = "fix the marked fields"; return; }
    $("#submit-state").textContent = "submitting…";
    const response = await api("/v1/generations", { method: "POST", body: formBody(), headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (response.status === 422) { clearErrors(); showFieldErrors(await response.json().then((p) => new ApiError(422, p.error))); return; }
    const job = await jsonOf(response);
    $("#submit-state").textContent = "queued";
    location.assign(`/jobs/${job.id}`);
  } catch (error) {
    showError($("#form-error"), error);
    $("#submit-state").textContent = "";
  } finally {
    button.disabled = false;
  }
}

function paramInput(section, key, value) {
  const wrap = document.createElement("div");
  const name = `hardware.overrides.${section}.${key}`;
  wrap.className = "param";
  wrap.dataset.field = name;
  const id = `p-${section}-${key}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = key;
  const input = document.createElement("input");
  input.id = id;
  input.dataset.section = section;
  input.dataset.key = key;
  input.dataset.original = JSON.stringify(value);
  if (typeof value === "boolean") {
    input.type = "checkbox";
    input.checked = value;
    wrap.classList.add("check-param");
    wrap.append(input, label);
  } else {
    input.type = "text";
    input.autocomplete = "off";
    input.inputMode = typeof value === "number" || value === null ? "decimal" : "text";
    input.value = value === null ? "" : String(value);
    if (value === null) input.placeholder = "derived"; // e.g. crossbar.read_noise, from the read (docs/physics.md)
    wrap.append(label, input);
  }
  const error = document.createElement("small");
  error.className = "error";
  error.setAttribute("role", "alert");
  wrap.append(error);
  return wrap;
}

async function showProfile(name) {
  const box = $("#param-sections");
  box.replaceChildren();
  $("#h-profile").textContent = "";
  if (name === "software") {
    $("#params-hint").textContent = "The software baseline runs the model in float torch: no hardware parameters.";
    overrides();
    return;
  }
  $("#params-hint").textContent = "Every parameter of the profile. Change a value to override it for this job; the server checks it against the profile. Values in SI units (m, s, V, Ω, A/m, J/m², K) unless the name says otherwise (…_um2, …_f2, node_nm); device/*.py documents each field with its source.";
  if (!profiles.has(name)) profiles.set(name, await getJson(`/v1/profiles/${encodeURIComponent(name)}`));
  const detail = profiles.get(name);
  if ($("#f-profile").value !== name) return; // changed meanwhile
  $("#h-profile").textContent = detail.description;
  for (const [section, values] of Object.entries(detail.profile || {})) {
    if (!values || typeof values !== "object") continue;
    const group = document.createElement("details");
    group.className = "params";
    group.dataset.group = section;
    group.open = OPEN_SECTIONS.includes(section);
    const summary = document.createElement("summary");
    const grid = document.createElement("div");
    grid.className = "param-grid";
    for (const [key, value] of Object.entries(values)) {
      if (value === null || ["number", "boolean", "string"].includes(typeof value)) grid.append(paramInput(section, key, value));
    }
    summary.textContent = `${section} (${grid.children.length})`;
    group.append(summary, grid);
    box.append(group);
  }
  overrides();
}

// Whether the chosen sampler takes η, and its description: the sampler registry, passed by the
// route (app/dashboard/routes.py form_fields) as data attributes of the menu's options.
function samplerTakesEta() {
  return $("#f-sampler").selectedOptions[0]?.dataset.takesEta === "true";
}

function syncSampler() {
  const takesEta = samplerTakesEta();
  $("#f-eta").disabled = !takesEta;
  if (!takesEta) $("#f-eta").value = "0";
  $("#h-sampler").textContent = $("#f-sampler").selectedOptions[0]?.dataset.description || "";
}

async function setUpForm() {
  const form = $("#gen-form");
  form.addEventListener("submit", submit);
  $("#f-sampler").addEventListener("change", syncSampler);
  syncSampler();
  $("#f-profile").addEventListener("change", () => showProfile($("#f-profile").value).then(() => validate()).catch((e) => showError($("#form-error"), e)));
  // check on commit (change), not on every key stroke: the API rate-limits per key
  form.addEventListener("change", (event) => {
    if (event.target.id === "f-profile") return;
    overrides();
    validate().catch((e) => showError($("#form-error"), e));
  });
  $("#param-sections").addEventListener("input", () => overrides());
  $("#reset-overrides").addEventListener("click", () => showProfile($("#f-profile").value).then(() => validate()));
  const [models, list] = await Promise.all([getJson("/v1/models"), getJson("/v1/profiles")]);
  $("#f-model").replaceChildren(...models.filter((m) => m.available).map((m) => new Option(m.id, m.id)));
  $("#h-model").textContent = models[0] ? `${(models[0].parameters / 1e6).toFixed(2)} M parameters · ${models[0].training_steps} training steps` : "";
  const current = $("#f-profile").value;
  $("#f-profile").replaceChildren(...list.map((p) => new Option(p.name, p.name, false, p.name === current)));
  await showProfile($("#f-profile").value);
}

start(async () => {
  if (window.matchMedia("(max-width: 640px)").matches) $("#params").open = false; // a phone: the parameters fold away
  setUpJobs();
  await setUpForm().catch((error) => showError($("#form-error"), error));
});
