// `@bpfkit/kernel-mm/proc`: the live /proc importer. Kept out of the main entry so a browser
// bundle of the model never sees node:fs.
export { importLive, importLiveMm, readProcess } from "./proc/import-live.js";
