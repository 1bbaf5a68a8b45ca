// `@bpfkit/kernel-mm/proc`: the live /proc importer. Kept out of the main entry so a browser
// bundle of the model never sees node:fs.
// It returns plain data: build the model with `buildMm` from the main entry, so one copy of the
// model classes exists however a bundler splits the two entries.
export { importLive, readProcess } from "./proc/import-live.js";
