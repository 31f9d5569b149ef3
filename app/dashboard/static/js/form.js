// The generation form of the jobs page. The server draws every field (app/dashboard/form.py, from the
// parameter dataclasses' metadata); this module fills in the chosen profile's values in the unit each
// field shows (data-exp: the value is shown divided by 10^exp), sends only the values that differ from
// the profile, shows every error the dry run (/dashboard/validate) reports at its own field, and the
// estimated duration it answers with. "Edit and run" (/?from=<job id>) and "Load settings from a PNG"
// fill the form from a job's request or from the record a spindiff PNG carries.
import { $, $$, ApiError, api, bodyJson, errorItems, fieldHolder, getJson, jsonOf, seconds, showError, typed } from "./common.js";

const profiles = new Map(); // name → {profile, description, hash} from GET /v1/profiles/{name}
let models = []; // GET /v1/models
let checks = 0; // dry runs sent: an answer to an older one is ignored
const RELATIVE_TOLERANCE = 1e-10; // a shown value read back differs from the profile's by rounding only
const MAX_PNG_BYTES = 20 * 1024 * 1024;

// ---- values in the unit shown -----------------------------------------------------------------------

const scale = (exp) => Number(`1e${exp}`); // exact powers of ten (10 ** -9 is not always 1e-9)

// An SI number as the form shows it: value / 10^exp to 12 significant digits ("30", not "30.000000000000004").
export function shownText(value, exp = 0) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "number") return String(value);
  return String(Number((exp ? value / scale(exp) : value).toPrecision(12)));
}

// What the user typed, back in SI: the decimal exponent is shifted in the text, so "30" ns is exactly 30e-9.
export function siValue(text, exp = 0, integer = false) {
  const trimmed = text.trim();
  if (integer || !exp) return typed(trimmed, { integer });
  const match = trimmed.match(/^([-+]?(?:\d+\.?\d*|\.\d+))(?:[eE]([-+]?\d+))?$/);
  if (!match) return trimmed; // not a number: the server names the field and says why
  return Number(`${match[1]}e${Number(match[2] || 0) + exp}`);
}

const same = (a, b) => (typeof a === "number" && typeof b === "number"
  ? Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b))
  : a === b);

function holders() {
  return $$("#param-sections .param[data-section]");
}

function paramValue(holder) {
  const control = holder.querySelector("input, select");
  const type = holder.dataset.type;
  if (type === "bool") return control.checked;
  if (control.tagName === "SELECT") return control.value;
  if (type === "float | None" && control.value.trim() === "") return null; // empty: derived
  return siValue(control.value, Number(holder.dataset.exp), type === "int");
}

function setParam(holder, value) {
  const control = holder.querySelector("input, select");
  if (holder.dataset.type === "bool") control.checked = Boolean(value);
  else control.value = shownText(value, Number(holder.dataset.exp));
}

function valueLabel(holder, value) {
  if (value === null) return holder.querySelector("input")?.placeholder || "none";
  if (typeof value === "boolean") return value ? "on" : "off";
  const unit = holder.querySelector(".unit")?.textContent || "";
  return `${shownText(value, Number(holder.dataset.exp))}${unit ? ` ${unit}` : ""}`;
}

// ---- the request --------------------------------------------------------------------------------------

function profileValue(section, key) {
  return profiles.get($("#f-profile").value)?.profile?.[section]?.[key];
}

// {section: {key: value}} of the values that differ from the profile (the emulation mode included), or null.
function overrides() {
  const found = {};
  const perSection = {};
  for (const holder of holders()) {
    const value = paramValue(holder);
    const changed = !same(value, JSON.parse(holder.dataset.original ?? "null"));
    holder.classList.toggle("changed", changed);
    if (!changed) continue;
    (found[holder.dataset.section] ||= {})[holder.dataset.key] = value;
    perSection[holder.dataset.section] = (perSection[holder.dataset.section] || 0) + 1;
  }
  const count = Object.values(perSection).reduce((n, k) => n + k, 0);
  $("#override-count").hidden = count === 0;
  $("#override-count").textContent = `${count} override${count === 1 ? "" : "s"}`;
  $("#reset-overrides").hidden = count === 0;
  for (const section of $$("#param-sections details.params")) {
    const pill = $(".section-changes", section);
    const k = perSection[section.dataset.group] || 0;
    pill.hidden = k === 0;
    pill.textContent = k ? `${k} changed` : "";
  }
  const emulation = $("#f-emulation").value;
  const original = profileValue("crossbar", "emulation");
  if (original !== undefined && emulation !== original) (found.crossbar ||= {}).emulation = emulation;
  return Object.keys(found).length ? found : null;
}

function samplerTakesEta() {
  return $("#f-sampler").selectedOptions[0]?.dataset.takesEta === "true";
}

function formBody() {
  const profile = $("#f-profile").value;
  const body = {
    model: $("#f-model").value,
    num_images: typed($("#f-num_images").value, { integer: true }),
    sampler: $("#f-sampler").value,
    steps: typed($("#f-steps").value, { integer: true }),
    chip_seed: typed($("#f-chip_seed").value, { integer: true }),
    hardware: profile,
    noise: $("#f-noise").value,
    quality: { enabled: $("#f-quality").checked },
    preview: $("#f-preview").checked,
  };
  if (samplerTakesEta()) body.eta = typed($("#f-eta").value);
  if ($("#f-seed").value.trim() !== "") body.seed = typed($("#f-seed").value, { integer: true });
  if (profile !== "software" && $("#f-paired").checked) body.paired = true;
  const changed = profile === "software" ? null : overrides();
  if (changed) body.hardware = { profile, overrides: changed };
  return bodyJson(body);
}

// ---- errors and the estimate --------------------------------------------------------------------------

function clearErrors() {
  $$("#gen-form .error").forEach((element) => { element.textContent = ""; });
  $$("#gen-form [aria-invalid]").forEach((element) => element.removeAttribute("aria-invalid"));
  $("#form-error").hidden = true;
}

// Every error at its field: the longest prefix of its path that names a field of the form.
function showFieldErrors(error) {
  const loose = [];
  for (const item of errorItems(error)) {
    const holder = fieldHolder($("#gen-form"), item.field);
    if (!holder) { loose.push(item.message); continue; }
    const message = holder.querySelector(".error");
    if (!message.textContent.split("\n").includes(item.message)) {
      message.textContent = message.textContent ? `${message.textContent}\n${item.message}` : item.message;
    }
    holder.querySelector("input, select")?.setAttribute("aria-invalid", "true");
    for (let open = holder.closest("details"); open; open = open.parentElement?.closest("details")) open.open = true;
  }
  if (loose.length) showError($("#form-error"), loose.join(" · "));
}

function estimateText(e) {
  const parts = [];
  if (e.setup === "program") parts.push(`chip programming ${seconds(e.setup_s)} (its first use)`);
  else if (e.setup === "load") parts.push(`chip load ${seconds(e.setup_s)}`);
  parts.push(`sampling ${seconds(e.sampling_s)} (${e.image_steps} image-steps)`);
  if (e.twin_s) parts.push(`software twin ${seconds(e.twin_s)}`);
  if (e.quality_s) parts.push(`KID/FID ${seconds(e.quality_s)}`);
  const jobs = `${e.jobs} job${e.jobs === 1 ? "" : "s"}`;
  const basis = { profile: `measured: ${jobs} of this profile`, mode: `measured: ${jobs} in this mode`,
    fallback: "rough: nothing measured here yet" }[e.basis];
  const ahead = e.jobs_ahead ? ` · ${e.jobs_ahead} job${e.jobs_ahead === 1 ? "" : "s"} ahead in the queue` : "";
  return { short: `≈ ${seconds(e.seconds)}`, long: `${parts.join(" + ")} · ${basis}${ahead}` };
}

function showEstimate(answer) {
  const element = $("#estimate");
  if (!answer?.estimate) { element.replaceChildren(); element.dataset.seconds = ""; return; }
  const { short, long } = estimateText(answer.estimate);
  const strong = document.createElement("strong");
  strong.textContent = `Estimated ${short}`;
  const detail = document.createElement("span");
  detail.className = "estimate-detail";
  detail.textContent = long;
  element.replaceChildren(strong, " ", detail);
  element.dataset.seconds = String(answer.estimate.seconds);
  element.dataset.basis = answer.estimate.basis;
}

// The server's dry run: the checks of POST /v1/generations with nothing queued. Returns its answer, or
// null when the form has errors (shown at their fields).
async function validate() {
  const mine = ++checks;
  const response = await api("/dashboard/validate", { method: "POST", body: formBody() });
  if (mine !== checks) return null; // a newer check is on its way
  clearErrors();
  let answer = null;
  let error = null;
  try { answer = await jsonOf(response); } catch (caught) { error = caught; }
  showEstimate(answer);
  if (error instanceof ApiError && error.status === 422) showFieldErrors(error);
  else if (error) showError($("#form-error"), error);
  return answer;
}

async function submit(event) {
  event.preventDefault();
  const button = $("#submit-button");
  button.disabled = true;
  $("#submit-state").textContent = "checking…";
  try {
    if (!(await validate())) {
      $("#submit-state").textContent = "fix the marked fields";
      $("#gen-form [aria-invalid=true]")?.scrollIntoView({ block: "center" });
      return;
    }
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

// ---- the profile ---------------------------------------------------------------------------------------

async function showProfile(name) {
  $("#h-profile").textContent = "";
  const software = name === "software";
  $("#param-sections").hidden = software;
  $("#f-emulation").disabled = software;
  $("#f-paired").disabled = software;
  if (software) {
    $("#params-hint").textContent = "The software baseline runs the model in float torch: no hardware parameters.";
    overrides();
    return;
  }
  $("#params-hint").textContent = $("#params-hint").dataset.text;
  if (!profiles.has(name)) profiles.set(name, await getJson(`/v1/profiles/${encodeURIComponent(name)}`));
  const detail = profiles.get(name);
  if ($("#f-profile").value !== name) return; // changed meanwhile
  $("#h-profile").textContent = detail.description;
  for (const holder of holders()) {
    const value = detail.profile?.[holder.dataset.section]?.[holder.dataset.key];
    holder.dataset.original = JSON.stringify(value ?? null);
    setParam(holder, value ?? null);
    $(".profile-value", holder).textContent = valueLabel(holder, value ?? null);
  }
  overrides();
}

// ---- filling the form: a job's request, a PNG's record -----------------------------------------------

function note(...content) {
  const element = $("#form-note");
  element.replaceChildren(...content);
  element.hidden = content.length === 0;
}

const link = (href, text) => Object.assign(document.createElement("a"), { href, textContent: text });

// Put a request (a POST /v1/generations body, seeds as text) into the form. Returns what it could not use.
async function fill(body) {
  const unused = [];
  const model = models.find((m) => m.id === body.model) || models.find((m) => m.sha256 && m.sha256 === (body.model_sha256 || body.model));
  if (model && [...$("#f-model").options].some((o) => o.value === model.id)) $("#f-model").value = model.id;
  else unused.push(`model ${String(body.model_sha256 || body.model).slice(0, 16)} (not on this server)`);
  if ([...$("#f-sampler").options].some((o) => o.value === body.sampler)) $("#f-sampler").value = body.sampler;
  syncSampler();
  for (const key of ["steps", "num_images", "chip_seed"]) if (body[key] !== undefined && body[key] !== null) $(`#f-${key}`).value = String(body[key]);
  if (samplerTakesEta() && body.eta !== undefined) $("#f-eta").value = String(body.eta);
  $("#f-seed").value = body.seed === undefined || body.seed === null ? "" : String(body.seed);
  if (body.noise) $("#f-noise").value = body.noise;
  $("#f-paired").checked = Boolean(body.paired);
  if (body.quality) $("#f-quality").checked = body.quality.enabled !== false;
  if (body.preview !== undefined) $("#f-preview").checked = Boolean(body.preview);
  const spec = typeof body.hardware === "string" ? { profile: body.hardware } : body.hardware || { profile: "vcma-default" };
  if (![...$("#f-profile").options].some((o) => o.value === spec.profile)) {
    unused.push(`profile ${spec.profile} (not on this server)`);
    return unused;
  }
  $("#f-profile").value = spec.profile;
  await showProfile(spec.profile);
  const given = structuredClone(spec.overrides || {});
  $("#f-emulation").value = given.crossbar?.emulation ?? profileValue("crossbar", "emulation") ?? "exact";
  if (given.crossbar) delete given.crossbar.emulation;
  for (const [section, values] of Object.entries(given)) {
    for (const [key, value] of Object.entries(values || {})) {
      const holder = $(`#param-sections .param[data-field="hardware.overrides.${CSS.escape(section)}.${CSS.escape(key)}"]`);
      if (holder) setParam(holder, value); else unused.push(`${section}.${key}`);
    }
  }
  overrides();
  for (const holder of $$("#param-sections .param.changed")) holder.closest("details").open = true; // show what was loaded
  return unused;
}

async function editJob(id) {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
  const answer = await getJson(`/dashboard/jobs/${encodeURIComponent(id)}/request`);
  const unused = await fill(answer.request);
  note(`Settings of job `, link(`/jobs/${id}`, id.slice(0, 8)), ` (${answer.status}) loaded: change what you like and Generate (a new job; the original stays as it is).`,
    ...(unused.length ? [` Not used: ${unused.join(", ")}.`] : []));
  await validate();
  $("#gen-form").scrollIntoView({ block: "start" });
}

// The text of the "spindiff" tEXt/iTXt/zTXt chunk of a PNG (diffusion/generation/images.py writes iTXt), or null.
export async function pngRecordText(buffer) {
  const bytes = new Uint8Array(buffer);
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 8 || signature.some((b, k) => bytes[k] !== b)) throw new Error("not a PNG file");
  const view = new DataView(buffer);
  const latin = (part) => String.fromCharCode(...part);
  const inflate = async (part) => new Response(new Blob([part]).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer();
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = latin(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === "IEND") break;
    if (!["tEXt", "iTXt", "zTXt"].includes(type)) continue;
    const end = data.indexOf(0);
    if (end < 0 || latin(data.subarray(0, end)) !== "spindiff") continue;
    if (type === "tEXt") return latin(data.subarray(end + 1));
    if (type === "zTXt") return new TextDecoder().decode(await inflate(data.subarray(end + 2)));
    const compressed = data[end + 1] === 1;
    const language = data.indexOf(0, end + 3);
    const translated = data.indexOf(0, language + 1);
    const text = data.subarray(translated + 1);
    return new TextDecoder().decode(compressed ? await inflate(text) : text);
  }
  return null;
}

// JSON with the seeds as text: they reach 2^63, past a JavaScript number's exact integers.
const exactJson = (text) => JSON.parse(text.replace(/("(?:seed|chip_seed)"\s*:\s*)(-?\d+)/g, '$1"$2"'));

function recordBody(record) {
  return {
    model: record.model || "default",
    model_sha256: record.model_sha256,
    num_images: record.num_images ?? null,
    sampler: record.sampler?.name,
    steps: record.sampler?.steps,
    eta: record.sampler?.eta,
    seed: record.seed,
    chip_seed: record.chip_seed,
    hardware: record.hardware || "software",
    noise: record.noise?.source || undefined,
    paired: Boolean(record.twin),
  };
}

async function loadPng(file) {
  note();
  $("#form-error").hidden = true;
  let text;
  try {
    if (file.size > MAX_PNG_BYTES) throw new Error(`too large for a spindiff PNG (${(file.size / 1e6).toFixed(1)} MB)`);
    text = await pngRecordText(await file.arrayBuffer());
  } catch (error) {
    showError($("#form-error"), `${file.name}: ${error.message}; drop a PNG downloaded from spindiff (an image or grid of a job).`);
    return;
  }
  if (text === null) {
    showError($("#form-error"), `${file.name} carries no spindiff record. Only the PNGs spindiff serves (a job's images and grid, downloaded as they are) have one; a screenshot, or a copy edited or saved again by another program, loses it.`);
    return;
  }
  let record;
  try { record = exactJson(text); } catch { showError($("#form-error"), `${file.name}: its spindiff record is not valid JSON.`); return; }
  const unused = await fill(recordBody(record));
  const which = record.index === undefined ? "the grid" : `image ${record.index}`;
  const from = record.job_id ? [` of job `, link(`/jobs/${record.job_id}`, String(record.job_id).slice(0, 8))] : [];
  const extra = [];
  if (record.num_images === undefined) extra.push(` The record predates the batch size (images kept at ${$("#f-num_images").value}; the same seed gives the same images only with the same batch size).`);
  if (record.twin) extra.push(" It is a software twin's image: the software twin is ticked.");
  if (unused.length) extra.push(` Not used: ${unused.join(", ")}.`);
  note(`Loaded the settings of ${which}`, ...from, ` from ${file.name}.`, ...extra);
  const answer = await validate();
  const wanted = record.hardware?.profile_hash ?? record.profile_hash;
  const now = answer?.hardware?.profile_hash;
  if (wanted && now && wanted !== now) {
    $("#form-note").append(` This server's ${record.hardware?.profile} with these overrides is not the chip the PNG was made on (profile hash ${now.slice(0, 12)} ≠ ${wanted.slice(0, 12)}): the profile changed since.`);
  }
}

function setUpPng() {
  $("#png-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) loadPng(file).catch((error) => showError($("#form-error"), error));
    event.target.value = "";
  });
  const panel = $("#submit-panel");
  const files = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  panel.addEventListener("dragover", (event) => {
    if (!files(event)) return;
    event.preventDefault();
    panel.classList.add("dropping");
  });
  panel.addEventListener("dragleave", (event) => { if (!panel.contains(event.relatedTarget)) panel.classList.remove("dropping"); });
  panel.addEventListener("drop", (event) => {
    if (!files(event)) return;
    event.preventDefault();
    panel.classList.remove("dropping");
    const [file] = event.dataTransfer.files;
    if (file) loadPng(file).catch((error) => showError($("#form-error"), error));
  });
}

// ---- wiring --------------------------------------------------------------------------------------------

function syncSampler() {
  const takesEta = samplerTakesEta();
  $("#f-eta").disabled = !takesEta;
  if (!takesEta) $("#f-eta").value = "0";
  $("#h-sampler").textContent = $("#f-sampler").selectedOptions[0]?.dataset.description || "";
}

const report = (error) => showError($("#form-error"), error);

export async function setUpForm() {
  const form = $("#gen-form");
  $("#params-hint").dataset.text = $("#params-hint").textContent;
  form.addEventListener("submit", submit);
  $("#f-sampler").addEventListener("change", syncSampler);
  syncSampler();
  $("#f-profile").addEventListener("change", () => showProfile($("#f-profile").value).then(validate).catch(report));
  // check on commit (change), not on every key stroke: the API rate-limits per key
  form.addEventListener("change", (event) => {
    if (["f-profile", "png-input"].includes(event.target.id)) return;
    overrides();
    validate().catch(report);
  });
  $("#param-sections").addEventListener("input", () => overrides());
  $("#reset-overrides").addEventListener("click", () => showProfile($("#f-profile").value).then(validate).catch(report));
  setUpPng();
  // "Edit and run" of a row of the jobs table: fill the form here, without reloading the page
  document.addEventListener("click", (event) => {
    const edit = event.target.closest?.("a.edit-link");
    if (!edit || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const id = new URL(edit.href).searchParams.get("from");
    history.replaceState(null, "", `/?from=${encodeURIComponent(id)}`);
    editJob(id).catch(report);
  });
  const [catalog, list] = await Promise.all([getJson("/v1/models"), getJson("/v1/profiles")]);
  models = catalog;
  $("#f-model").replaceChildren(...models.filter((m) => m.available).map((m) => new Option(m.id, m.id)));
  $("#h-model").textContent = models[0] ? `${(models[0].parameters / 1e6).toFixed(2)} M parameters · ${models[0].training_steps} training steps` : "";
  const current = $("#f-profile").value;
  $("#f-profile").replaceChildren(...list.map((p) => new Option(p.name, p.name, false, p.name === current)));
  await showProfile($("#f-profile").value);
  const from = new URLSearchParams(location.search).get("from");
  if (from) await editJob(from);
  else await validate();
}
