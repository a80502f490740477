// Runs SyncGuard's own unit tests, copied by run-upstream.sh into .temp/ with only their library import
// specifiers rewritten, against this library's sources. Not part of `npm test` (it needs a SyncGuard checkout).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const lockSource = fileURLToPath(new URL("../../src/", import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: {
    alias: [
      { find: /^bun:test$/, replacement: fileURLToPath(new URL("./bun-test.ts", import.meta.url)) },
      { find: /^@firebrick\/lock$/, replacement: `${lockSource}index.ts` },
      { find: /^@firebrick\/lock\/(.+)$/, replacement: `${lockSource}$1/index.ts` },
    ],
  },
  test: { include: [".temp/**/*.test.ts"], exclude: [] },
});
