// spindiff API reference (/docs, /redoc): fetch the OpenAPI document — with the API key the dashboard
// keeps in this tab when the server asks for one — and start Swagger UI or ReDoc on it. Both viewers
// are files of this server (app/api/docs.py); nothing is fetched from another origin.

const KEY = "spindiff.apiKey"; // the dashboard's sessionStorage entry (app/dashboard/static/js/common.js)
const page = document.body.dataset;
const status = document.getElementById("docs-status");

// Show the key form until a key is entered; it is kept for this tab (and its dashboard pages).
function askForKey(message) {
  const form = document.getElementById("docs-key");
  const input = document.getElementById("docs-key-input");
  document.getElementById("docs-key-message").textContent = message;
  status.hidden = true;
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", function done(event) {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        input.setAttribute("aria-invalid", "true");
        return;
      }
      sessionStorage.setItem(KEY, key);
      form.removeEventListener("submit", done);
      form.hidden = true;
      input.value = "";
      input.removeAttribute("aria-invalid");
      status.hidden = false;
      resolve(key);
    });
  });
}

// The OpenAPI document; a 401 asks for a key (again, if the one kept was refused) and retries.
async function description() {
  for (;;) {
    const key = sessionStorage.getItem(KEY);
    const response = await fetch(page.openapi, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    if (response.ok) return response.json();
    let reason = `${response.status} ${response.statusText}`;
    try {
      reason = (await response.json()).error.message;
    } catch {
      // not the API's error shape: keep the status line
    }
    if (response.status !== 401) throw new Error(reason);
    await askForKey(
      key
        ? `The key kept in this tab was refused (${reason}). Enter another.`
        : "This server requires an API key to show its API description.",
    );
  }
}

// "Try it out" sends the tab's key, unless Swagger UI's Authorize dialog has set a header of its own.
function withKey(request) {
  const key = sessionStorage.getItem(KEY);
  const set = Object.keys(request.headers || {}).some((name) => ["authorization", "x-api-key"].includes(name.toLowerCase()));
  if (key && !set) request.headers = { ...request.headers, Authorization: `Bearer ${key}` };
  return request;
}

async function start() {
  const spec = await description();
  const parameters = JSON.parse(page.parameters);
  if (page.viewer === "swagger") {
    window.ui = globalThis.SwaggerUIBundle({
      ...parameters,
      spec,
      validatorUrl: null, // Swagger UI would otherwise send the document to an online validator
      requestInterceptor: withKey,
      presets: [globalThis.SwaggerUIBundle.presets.apis, globalThis.SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
  } else {
    globalThis.Redoc.init(spec, parameters, document.getElementById("redoc"));
  }
  status.hidden = true;
}

start().catch((error) => {
  status.textContent = `The API description could not be loaded: ${error.message}`;
  status.classList.add("error");
  status.hidden = false;
});
