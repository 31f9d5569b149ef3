// An error page (a wrong id in the address): the header's readiness and key button only.
import { start } from "./common.js";

start(async () => {});
