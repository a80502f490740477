import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../../../test/firestore.js";
import { expectedBuckets } from "../../testing/trends-contract.js";
import type { AggregateQuery, TenantZone } from "../../types.js";
import { UsageTally } from "../../usage.js";
import { createFirestoreRollupMaintenance, createFirestoreStores } from "../index.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// 00:30 UTC on 29 March 2026.
const T0 = Date.UTC(2026, 2, 29, 0, 30, 0);
const KOLKATA: TenantZone = { timeZone: "Asia/Kolkata", timeZoneSince: 0 };

function rollupReads(tally: UsageTally): number {
  let reads = 0;
  for (const [key, usage] of tally.byArea) if (key.endsWith(":rollups")) reads += usage.reads;
  return reads;
}

describe("Firestore rollup maintenance", () => {
  const db = testFirestore("rollup-maint");
  const clock = { now: T0 };
  const tally = new UsageTally();
  const stores = createFirestoreStores(db, { clock: () => clock.now, usage: tally });
  const maintenance = createFirestoreRollupMaintenance(db, {
    clock: () => clock.now,
    timeZoneOf: async () => KOLKATA,
  });
  afterAll(() => db.terminate());

  it("folds quiet days into month documents: 90 days at 1d read a few documents and stay exact, late points included", async () => {
    const tenant = "fold";
    const device = randomUUID();
    const start = T0 - 90 * DAY;
    const raw = new Map<number, Record<string, number>>();
    // Four points a day for 90 days, written as they would have arrived, in requests of a day's points.
    for (let day = 0; day < 90; day += 1) {
      const points = Array.from({ length: 4 }, (_, i) => ({
        timestamp_ms: start + day * DAY + i * 6 * HOUR,
        metrics: { v: (day * 7 + i * 3) % 41 },
      }));
      await stores.telemetry.append(tenant, device, points);
      for (const point of points) raw.set(point.timestamp_ms, point.metrics);
    }
    await stores.telemetry.flush();
    const query: AggregateQuery = { from: start, to: T0, interval: "1d", ...KOLKATA };
    const expected = expectedBuckets(raw, { from: start, to: T0, width: DAY, offset: 330 * MINUTE });
    tally.reset();
    expect(await stores.telemetry.aggregate(tenant, device, query)).toEqual(expected);
    // Before any fold, every day document is read.
    expect(rollupReads(tally)).toBeGreaterThanOrEqual(90);

    clock.now = T0 + 11 * MINUTE;
    let folded = 0;
    for (let run = 0; run < 5; run += 1) folded += (await maintenance.runOnce()).folded;
    expect(folded).toBeGreaterThanOrEqual(90);
    tally.reset();
    expect(await stores.telemetry.aggregate(tenant, device, query)).toEqual(expected);
    // The months of the range (4) and the query for unfolded days (1 when it finds none).
    expect(rollupReads(tally)).toBeLessThanOrEqual(10);

    // A late point in a folded day: the day is read again until it is folded again, exact throughout.
    const late = start + 40 * DAY + 3 * HOUR;
    await stores.telemetry.append(tenant, device, [{ timestamp_ms: late, metrics: { v: 100 } }]);
    raw.set(late, { v: 100 });
    const withLate = expectedBuckets(raw, { from: start, to: T0, width: DAY, offset: 330 * MINUTE });
    expect(await stores.telemetry.aggregate(tenant, device, query)).toEqual(withLate);
    clock.now += 11 * MINUTE;
    expect((await maintenance.runOnce()).folded).toBe(1);
    tally.reset();
    expect(await stores.telemetry.aggregate(tenant, device, query)).toEqual(withLate);
    expect(rollupReads(tally)).toBeLessThanOrEqual(10);
  }, 120_000);

  it("merges a fast device's rollup updates, keeps one intent while it is fast, and deletes it once it is quiet", async () => {
    const tenant = "fast";
    const device = randomUUID();
    const fastTally = new UsageTally();
    const fast = createFirestoreStores(db, {
      clock: () => clock.now,
      usage: fastTally,
      rollups: { minWriteIntervalMs: 300 },
    });
    const t = Math.floor((clock.now - HOUR) / (5 * MINUTE)) * 5 * MINUTE;
    const intents = db.collection("telemetry_rollup_intents").where("device_id", "==", device);
    // 20 one-point requests in a row: the first writes its day document, the others are held back.
    for (let i = 0; i < 20; i += 1) {
      await fast.telemetry.append(tenant, device, [{ timestamp_ms: t + i * 1000, metrics: { v: i } }]);
    }
    const query: AggregateQuery = { from: t, to: t + 5 * MINUTE, interval: "5m", timeZone: "UTC" };
    // This instance answers exactly at once (held-back updates included); another once they are written.
    expect((await fast.telemetry.aggregate(tenant, device, query))[0]!.metrics.v!.count).toBe(20);
    for (;;) {
      const [bucket] = await stores.telemetry.aggregate(tenant, device, query);
      if (bucket?.metrics.v?.count === 20 && (await intents.get()).size === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let rollupWrites = 0;
    for (const [key, usage] of fastTally.byArea) if (key.endsWith(":rollups")) rollupWrites += usage.writes;
    // The day document's first write, a few merged flushes, one intent created and deleted: not 20.
    expect(rollupWrites).toBeLessThanOrEqual(6);
  }, 60_000);

  it("repairs the rollups of an instance that crashed holding updates back, once its intent lapses", async () => {
    const tenant = "crash";
    const device = randomUUID();
    // This instance holds a fast device's updates back for an hour: it "crashes" before writing them.
    const crashing = createFirestoreStores(db, {
      clock: () => clock.now,
      rollups: { minWriteIntervalMs: HOUR, intentLeaseMs: 2 * MINUTE },
    });
    const t = Math.floor((clock.now - HOUR) / (5 * MINUTE)) * 5 * MINUTE;
    await crashing.telemetry.append(tenant, device, [{ timestamp_ms: t, metrics: { v: 1 } }]);
    await crashing.telemetry.append(tenant, device, [{ timestamp_ms: t + 1000, metrics: { v: 5 } }]);
    await crashing.telemetry.append(tenant, device, [{ timestamp_ms: t + 2000, metrics: { v: 3 } }]);
    const query: AggregateQuery = { from: t, to: t + 5 * MINUTE, interval: "5m", timeZone: "UTC" };
    // Another instance sees the points but only the first one's rollup: the rest were held back.
    expect(await stores.telemetry.latest(tenant, device, 10)).toHaveLength(3);
    expect((await stores.telemetry.aggregate(tenant, device, query))[0]!.metrics.v!.count).toBe(1);
    // The intent is still live: nothing to repair yet.
    expect((await maintenance.runOnce()).repaired).toBe(0);
    clock.now += 3 * MINUTE;
    expect((await maintenance.runOnce()).repaired).toBe(1);
    expect(await stores.telemetry.aggregate(tenant, device, query)).toEqual([
      {
        start_ms: t,
        metrics: { v: { min: 1, max: 5, avg: 3, sum: 9, count: 3, first: 1, last: 3 } },
      },
    ]);
    expect((await maintenance.runOnce()).repaired).toBe(0);
  }, 60_000);
});
