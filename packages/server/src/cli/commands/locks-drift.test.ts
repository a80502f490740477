import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import { runCli } from "../testing/run-cli.js";

const skewedClock = fileURLToPath(new URL("../testing/skewed-clock.mjs", import.meta.url));

/** `firebrick locks drift` on a host whose clock runs `skewMs` off the emulator's. */
function drift(args: string[], skewMs: number, extraEnv: Record<string, string | undefined> = {}) {
  return runCli(["locks", "drift", ...args], {
    env: {
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("locks-drift"),
      NODE_OPTIONS: `--import ${skewedClock}`,
      TEST_CLOCK_SKEW_MS: String(skewMs),
      ...extraEnv,
    },
  });
}

describe("firebrick locks drift (the pre-deployment clock check)", () => {
  it("passes (exit 0) a synchronised host and prints the drift, its uncertainty and the ladder", async () => {
    const result = await drift(["--json"], 0);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      level: "ok",
      warn_ms: 200,
      block_ms: 500,
      samples: 3,
      lock_time_authority: "server",
    });
    expect(Math.abs(report.drift_ms)).toBeLessThanOrEqual(report.uncertainty_ms + 50);
  });

  it("warns on stderr from ±200 ms but still passes", async () => {
    const result = await drift(["--samples", "2"], -300, { FIREBRICK_LOCK_TIME_AUTHORITY: "client" });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^clock drift -\d+ ms \(±\d+ ms\) against Firestore: warn .*client time\)$/m,
    );
    expect(result.stderr).toMatch(/warning: clock drift -\d+ ms/);
  });

  it("fails (exit 1) from ±500 ms: the deployment must not go ahead", async () => {
    const result = await drift(["--json"], 800);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ level: "block" });
    expect(result.stderr).toMatch(/clock drift \d+ ms is beyond ±500 ms: do not deploy/);
  });

  it("refuses bad usage with exit 2: no Firestore configured, or a bad --samples", async () => {
    const none = await drift([], 0, { FIRESTORE_EMULATOR_HOST: undefined, GOOGLE_CLOUD_PROJECT: undefined });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no Firestore configured/);
    const samples = await drift(["--samples", "0"], 0);
    expect(samples.code).toBe(2);
    expect(samples.stderr).toMatch(/--samples must be an integer from 1 to 20/);
  });
});
