// The jobs page: the generation form (form.js: drawn from the profile schema, checked by the server
// before anything is queued) and the live jobs table (jobs_table.js).
import { $, showError, start } from "./common.js";
import { setUpForm } from "./form.js";
import { setUpJobs } from "./jobs_table.js";

start(async () => {
  if (window.matchMedia("(max-width: 640px)").matches) $("#params").open = false; // a phone: the parameters fold away
  setUpJobs();
  await setUpForm().catch((error) => showError($("#form-error"), error));
});
