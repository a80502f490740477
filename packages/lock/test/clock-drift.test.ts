import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../test/firestore.js";
import { CLOCK_DRIFT_THRESHOLDS, driftLevel, measureClockDrift } from "../src/firestore/index.js";
import { LockError } from "../src/index.js";
import { expectLockError } from "./contract.js";

const db = testFirestore("lock-clock-drift");
afterAll(() => db.terminate());

describe("measureClockDrift", () => {
  it.each([0, 250, -250, 700, -60_000])(
    "measures a local clock %i ms off Firestore's commit time, within its stated uncertainty",
    async (skewMs) => {
      // The emulator runs on this host: its clock is ours, so the skew is all the drift there is.
      const drift = await measureClockDrift(db, { now: () => Date.now() + skewMs, samples: 3 });
      expect(Math.abs(drift.driftMs - skewMs)).toBeLessThanOrEqual(drift.uncertaintyMs + 50);
      expect(drift.samples).toBe(3);
      expect(drift.uncertaintyMs).toBeGreaterThanOrEqual(Math.ceil(drift.roundTripMs / 2));
      expect(drift.level).toBe(driftLevel(drift.driftMs));
    },
  );

  it("writes one probe document, in the collection it is given", async () => {
    await measureClockDrift(db, { collection: "ops_clock", document: "probe-a", samples: 2 });
    const probe = await db.collection("ops_clock").doc("probe-a").get();
    expect(probe.exists).toBe(true);
    expect(Object.keys(probe.data() ?? {})).toEqual(["measuredAt"]);
  });

  it("places drifts on the ladder: ok below ±200 ms, warn from ±200 ms, block from ±500 ms", () => {
    expect(CLOCK_DRIFT_THRESHOLDS).toEqual({ TARGET_MS: 100, WARN_MS: 200, BLOCK_MS: 500 });
    expect([0, 199, -199, 200, -200, 499, 500, -500, 60_000].map(driftLevel)).toEqual([
      "ok",
      "ok",
      "ok",
      "warn",
      "warn",
      "warn",
      "block",
      "block",
      "block",
    ]);
  });

  it("rejects a sample count outside 1..20 and honours an aborted signal", async () => {
    await expect(measureClockDrift(db, { samples: 0 })).rejects.toBeInstanceOf(LockError);
    await expectLockError(measureClockDrift(db, { signal: AbortSignal.abort() }), "Aborted");
  });
});
