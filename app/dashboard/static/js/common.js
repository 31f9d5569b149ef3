// spindiff dashboard: what every page shares — the API key, authenticated fetch, Server-Sent
// Events over fetch() (an EventSource cannot send an Authorization header), images fetched as
// blobs (an <img src> cannot either), the readiness dot and small formatters.
// Plain ES modules, no dependencies, nothing loaded from another origin.

const KEY = "spindiff.apiKey";
let keyPrompt = null; // the pending "ask for a key" promise, shared by concurrent 401s

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

function askForKey(message) {
  if (keyPrompt) return keyPrompt;
  const dialog = $("#key-dialog");
  const input = $("#key-input");
  $("#key-message").textContent = message;
  input.value = "";
  keyPrompt = new Promise((resolve) => {
    const done = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) { input.setAttribute("aria-invalid", "true"); return; }
      input.removeAttribute("aria-invalid");
      sessionStorage.setItem(KEY, key);
      $("#key-form").removeEventListener("submit", done);
      dialog.close();
      keyPrompt = null;
      resolve(key);
    };
    $("#key-form").addEventListener("submit", done);
  });
  if (!dialog.open) dialog.showModal();
  input.focus();
  return keyPrompt;
}

function setUpKeyButton() {
  $("#key-button")?.addEventListener("click", () => { // only where the server sets SPINDIFF_API_KEYS
    askForKey(apiKey() ? "Replace the API key of this tab." : "Enter an API key (only needed when the server sets SPINDIFF_API_KEYS).")
      .then(() => location.reload());
  });
  $("#key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  $("#key-dialog").addEventListener("cancel", (event) => event.preventDefault()); // Esc would leave requests hanging
}

// JSON with exact big integers: seeds reach 2^63, beyond a JS number's exact range, so a seed
// typed as digits travels as those digits.
const BIG = "\u0000big:";
export function bodyJson(body) {
  return JSON.stringify(body, (_, value) => (typeof value === "bigint" ? `${BIG}${value}` : value))
    .replace(/"\\u0000big:(-?\d+)"/g, "$1");
}

// A typed value as the API should see it: digits → integer, a number → number, else the text
// itself (the API answers 422 naming the field, which is the check we want).
export function typed(text, { integer = false } = {}) {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) return Math.abs(Number(trimmed)) > Number.MAX_SAFE_INTEGER ? BigInt(trimmed) : Number(trimmed);
  if (!integer && trimmed !== "" && Number.isFinite(Number(trimmed))) return Number(trimmed);
  return trimmed;
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
    this.field = error?.field;
    this.details = error?.details || [];
  }
}

// fetch() with the key; a 401 asks for a key (once, for all pending requests) and retries.
export async function api(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  for (;;) {
    const sent = { ...headers };
    const key = apiKey();
    if (key) sent.Authorization = `Bearer ${key}`;
    if (json !== undefined || body !== undefined) sent["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers: sent, body: body ?? (json === undefined ? undefined : JSON.stringify(json)), signal, cache: "no-store" });
    if (response.status !== 401) return response;
    const error = (await response.json().catch(() => ({}))).error || {};
    if (apiKey() !== key) continue; // a key was entered while this request was out: try that one
    await askForKey(key ? `The key was refused: ${error.message || "unknown API key"}. Enter another.` : "This server asks for an API key.");
  }
}

// The JSON of a response, or an ApiError carrying the API's {error: {code, message, field}}.
export async function jsonOf(response) {
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, payload?.error || { message: `HTTP ${response.status}` });
  return payload;
}

export const getJson = async (path) => jsonOf(await api(path));

export async function getText(path) {
  const response = await api(path);
  if (!response.ok) await jsonOf(response);
  return response.text();
}

// Read Server-Sent Events from `path` with the key. onEvent({event, data, id}) returns true to
// stop. Reconnects with Last-Event-ID after a dropped connection; ends on 204 or abort.
export async function streamEvents(path, onEvent, { signal, onState = () => {} } = {}) {
  let lastId = null;
  let delay = 1000;
  while (!signal?.aborted) {
    try {
      const response = await api(path, { headers: lastId ? { "Last-Event-ID": lastId } : {}, signal });
      if (response.status === 204) return;
      if (!response.ok) await jsonOf(response);
      onState("live");
      delay = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let current = {};
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          if (line === "") {
            if (current.data !== undefined) {
              if (current.id) lastId = current.id;
              let data = current.data;
              try { data = JSON.parse(data); } catch { /* keep text */ }
              if (onEvent({ event: current.event || "message", data, id: current.id })) { reader.cancel(); return; }
            }
            current = {};
          } else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const name = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            current[name] = name === "data" && current.data !== undefined ? `${current.data}\n${text}` : text;
          }
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error;
    }
    onState("down");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(10000, delay * 2);
  }
}

// Images need the key too: fetch as a blob and show it through an object URL.
const objectUrls = new Map();
export async function blobUrl(path) {
  if (objectUrls.has(path)) return objectUrls.get(path);
  const response = await api(path);
  if (!response.ok) await jsonOf(response);
  const url = URL.createObjectURL(await response.blob());
  objectUrls.set(path, url);
  return url;
}

export function loadImages(root = document) {
  return Promise.all($$("img[data-src]", root).map(async (img) => {
    try {
      img.src = await blobUrl(img.dataset.src);
      img.removeAttribute("data-src");
    } catch (error) {
      img.alt = `could not load: ${error.message}`;
    }
  }));
}

export function download(url, filename) {
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
}

// The items of a 422: every entry of error.details, or the error itself when it has none.
export function errorItems(error) {
  return error.details?.length ? error.details : [{ field: error.field, message: error.message }];
}

// The element of `form` that holds the field an error names: the longest prefix of its dotted path
// that an element carries as data-field (else as data-alias); null when none does.
export function fieldHolder(form, path) {
  const parts = (path || "").split(".");
  while (parts.length) {
    const name = CSS.escape(parts.join("."));
    const holder = form.querySelector(`[data-field="${name}"]`) || form.querySelector(`[data-alias="${name}"]`);
    if (holder) return holder;
    parts.pop();
  }
  return null;
}

export function showError(element, error) {
  element.textContent = error instanceof Error ? error.message : String(error);
  element.hidden = false;
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(value / 60);
  return `${minutes} min ${Math.round(value - minutes * 60)} s`;
}

export function ago(iso) {
  if (!iso) return "";
  const delta = (Date.now() - Date.parse(iso)) / 1000;
  if (delta < 5) return "just now";
  if (delta < 60) return `${Math.round(delta)} s ago`;
  if (delta < 3600) return `${Math.round(delta / 60)} min ago`;
  if (delta < 86400) return `${Math.round(delta / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function progressText(status, progress) {
  const { step = 0, total = 0, eta_s: eta } = progress || {};
  if (status === "queued") return "queued";
  if (status === "running" && !total) return "starting (loading the model, programming the chip)…";
  const text = `step ${step} / ${total}`;
  return status === "running" && eta !== null && eta !== undefined ? `${text} · ETA ${seconds(eta)}` : text;
}

function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
  return `${n}${suffix}`;
}

// "queued · 2nd in line (3 waiting)": the job's place among the messages of the Celery queue.
export function queueText(queue) {
  if (!queue) return "queued";
  if (queue.position === undefined || queue.position === null) return "queued · handed to a worker, starting";
  return `queued · ${queue.position === 1 ? "next" : `${ordinal(queue.position)} in line`} (${queue.waiting} waiting)`;
}

async function readiness() {
  const dot = $("#readiness");
  try {
    const response = await fetch("/readyz", { cache: "no-store" });
    const body = await response.json();
    const workers = body.checks?.workers || {};
    dot.className = `readiness ${response.ok ? "ready" : "not-ready"}`;
    dot.textContent = response.ok ? `ready · ${workers.alive} worker${workers.alive === 1 ? "" : "s"}` : "not ready";
    dot.title = response.ok ? "Redis reachable, a worker alive" : Object.entries(body.checks || {})
      .filter(([, check]) => !check.ok).map(([name, check]) => `${name}: ${check.message || "down"}`).join("; ");
  } catch {
    dot.className = "readiness not-ready";
    dot.textContent = "API unreachable";
  }
}

export function start(main) {
  const run = () => {
    setUpKeyButton();
    readiness();
    setInterval(readiness, 15000);
    main().catch((error) => console.error(error));
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
}
