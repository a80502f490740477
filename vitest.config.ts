import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const lockSource = fileURLToPath(new URL("./packages/lock/src/", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of @firebrick/lock, not its last build.
    alias: [
      { find: /^@firebrick\/lock$/, replacement: `${lockSource}index.ts` },
      { find: /^@firebrick\/lock\/(.+)$/, replacement: `${lockSource}$1/index.ts` },
    ],
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    env: { METADATA_SERVER_DETECTION: "none" },
  },
});
