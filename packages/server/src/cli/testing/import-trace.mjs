// `node --import ./import-trace.mjs …` with FIREBRICK_IMPORT_TRACE=FILE: appends every module URL the
// program resolves to FILE, so that a test can see which modules a command loads. (A file, written
// synchronously: lines written to stderr from the hooks thread can be lost when the process exits.)
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from "node:fs";
    let file;
    export function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(file, resolved.url + "\\n");
      return resolved;
    }
  `)}`,
  { data: { file: process.env.FIREBRICK_IMPORT_TRACE } },
);
