// The comparison page: with ?ids=a,b[,c,d] the server-rendered side-by-side report, else a
// picker of recent finished jobs.
import { $, getJson, getText, loadImages, showError, start } from "./common.js";

const root = $("#compare-root");

async function showReport(ids) {
  const report = $("#compare-report");
  report.innerHTML = await getText(`/dashboard/compare?ids=${ids.map(encodeURIComponent).join(",")}`);
  await loadImages(report);
}

async function showPicker() {
  const picker = $("#picker");
  picker.hidden = false;
  const page = await getJson("/dashboard/jobs?status=succeeded&limit=30"); // rows named as the jobs table names them
  const list = $("#picker-list");
  const chosen = new Set();
  const button = $("#picker-button");
  if (!page.items.length) {
    list.innerHTML = "<li class=\"hint\">No finished jobs yet: submit some on the <a href=\"/\">jobs page</a>.</li>";
    return;
  }
  for (const job of page.items) {
    const item = document.createElement("li");
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = job.id;
    box.addEventListener("change", () => {
      if (box.checked) chosen.add(job.id); else chosen.delete(job.id);
      button.disabled = chosen.size < 2 || chosen.size > 4;
    });
    const text = document.createElement("span");
    text.textContent = `${job.id.slice(0, 8)} · ${job.profile_full} · ${job.sampler.toUpperCase()} ${job.steps} steps · ${job.num_images} images · ${job.finished_at}`;
    label.append(box, text);
    item.append(label);
    list.append(item);
  }
  button.addEventListener("click", () => location.assign(`/compare?ids=${[...chosen].join(",")}`));
}

start(async () => {
  const ids = (root.dataset.ids || "").split(",").filter(Boolean);
  try {
    if (ids.length) await showReport(ids); else await showPicker();
  } catch (error) {
    showError($("#compare-error"), error); // e.g. an id that is unknown, expired or another key's: pick others
    if (ids.length) await showPicker().catch(() => {});
  }
});
