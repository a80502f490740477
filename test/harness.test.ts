import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("the test command without the emulator", () => {
  it.each([
    [
      { FIRESTORE_EMULATOR_JAR: "/nonexistent/cloud-firestore-emulator.jar" },
      /emulator jar is missing: \/nonexistent/,
    ],
    [{ JAVA: "/nonexistent/java" }, /Java is missing/],
  ])("fails with one clear line instead of skipping the Firestore suites (%j)", (env, line) => {
    const result = spawnSync(
      process.execPath,
      ["node_modules/vitest/vitest.mjs", "run", "test/emulator.test.ts"],
      {
        cwd: root,
        env: { ...process.env, ...env, FIRESTORE_EMULATOR_HOST: "" },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(1);
    const lines = result.stderr.split("\n").filter((l) => l.includes("Firestore test suites cannot run"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });
});
