import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AggregateBucket,
  type AggregateInterval,
  MAX_AGGREGATE_BUCKETS,
  type NewPoint,
  QueryRangeError,
  ROLLUP_RETENTION_MS,
  TELEMETRY_RETENTION_MS,
} from "../types.js";
import type { StoreBackend } from "../usage.js";
import { type MakeStores, T0, useHarness } from "./contract.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * What a trend bucket must be, computed the plainest way from the raw points: the model the stores'
 * rollups are held to. Buckets of `width` ms aligned on `offset` (a fixed zone offset for `1d`).
 */
export function expectedBuckets(
  points: ReadonlyMap<number, Record<string, number>>,
  options: { from: number; to: number; width: number; offset?: number },
): AggregateBucket[] {
  const offset = options.offset ?? 0;
  const startOf = (t: number) => Math.floor((t + offset) / options.width) * options.width - offset;
  const first = startOf(options.from);
  const buckets = new Map<number, Map<string, Array<[number, number]>>>();
  for (const [t, metrics] of points) {
    if (t < first || t >= options.to) continue;
    const start = startOf(t);
    const bucket = buckets.get(start) ?? new Map<string, Array<[number, number]>>();
    for (const [name, value] of Object.entries(metrics)) {
      bucket.set(name, [...(bucket.get(name) ?? []), [t, value]]);
    }
    buckets.set(start, bucket);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start_ms, bucket]) => ({
      start_ms,
      metrics: Object.fromEntries(
        [...bucket.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, readings]) => {
            const sorted = [...readings].sort(([a], [b]) => a - b);
            const values = sorted.map(([, value]) => value);
            const sum = values.reduce((a, b) => a + b, 0);
            return [
              name,
              {
                min: Math.min(...values),
                max: Math.max(...values),
                avg: sum / values.length,
                sum,
                count: values.length,
                first: values[0]!,
                last: values.at(-1)!,
              },
            ];
          }),
      ),
    }));
}

/**
 * Trends on a telemetry store (docs/design/trends.md): aggregates from stored rollups, exact under late
 * points and overwrites, in the tenant's time zone for days, kept two years; run against both backends.
 */
export function describeTrendsContract(name: string, backend: StoreBackend, makeStores: MakeStores): void {
  describe(`${name}: trends`, () => {
    const h = useHarness(makeStores);
    const aggregate = (
      tenant: string,
      device: string,
      interval: AggregateInterval,
      range: { from: number; to: number },
      extra: { timeZone?: string; metrics?: string[] } = {},
    ) => h.stores.telemetry.aggregate(tenant, device, { ...range, interval, timeZone: "UTC", ...extra });

    it("answers 5m, 15m, 1h and 1d buckets with min, max, avg, sum, count, first and last, oldest first", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      const hour = Math.floor((T0 - 3 * HOUR) / HOUR) * HOUR;
      // Minute m of the hour holds m; the points arrive newest first.
      const points = Array.from({ length: 60 }, (_, m) => ({
        timestamp_ms: hour + m * MINUTE,
        metrics: { v: m, w: 100 - m },
      })).reverse();
      await h.stores.telemetry.append(tenant, device, points);
      const range = { from: hour, to: hour + HOUR };
      const five = await aggregate(tenant, device, "5m", range);
      expect(five.map((bucket) => bucket.start_ms)).toEqual(
        Array.from({ length: 12 }, (_, i) => hour + i * 5 * MINUTE),
      );
      expect(five[1]!.metrics.v).toEqual({ min: 5, max: 9, avg: 7, sum: 35, count: 5, first: 5, last: 9 });
      expect(five[1]!.metrics.w).toEqual({
        min: 91,
        max: 95,
        avg: 93,
        sum: 465,
        count: 5,
        first: 95,
        last: 91,
      });
      const quarter = await aggregate(tenant, device, "15m", range);
      expect(quarter).toHaveLength(4);
      expect(quarter[3]!.metrics.v).toEqual({
        min: 45,
        max: 59,
        avg: 52,
        sum: 780,
        count: 15,
        first: 45,
        last: 59,
      });
      const hourly = await aggregate(tenant, device, "1h", { from: hour - HOUR, to: hour + 2 * HOUR });
      expect(hourly).toEqual([
        {
          start_ms: hour,
          metrics: {
            v: { min: 0, max: 59, avg: 29.5, sum: 1770, count: 60, first: 0, last: 59 },
            w: { min: 41, max: 100, avg: 70.5, sum: 4230, count: 60, first: 100, last: 41 },
          },
        },
      ]);
      const daily = await aggregate(tenant, device, "1d", { from: hour - 2 * DAY, to: hour + DAY });
      expect(daily).toEqual([{ start_ms: Math.floor(hour / DAY) * DAY, metrics: hourly[0]!.metrics }]);
      expect(await aggregate(tenant, device, "1h", range, { metrics: ["w"] })).toEqual([
        { start_ms: hour, metrics: { w: hourly[0]!.metrics.w } },
      ]);
      expect(await aggregate(tenant, randomUUID(), "1h", range)).toEqual([]);
    });

    it("stays exact when a late point arrives and when a point is overwritten", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      const slot = Math.floor((T0 - 2 * HOUR) / (5 * MINUTE)) * 5 * MINUTE;
      const range = { from: slot, to: slot + 5 * MINUTE };
      await h.stores.telemetry.append(tenant, device, [
        { timestamp_ms: slot + 2 * MINUTE, metrics: { v: 5 } },
        { timestamp_ms: slot + 3 * MINUTE, metrics: { v: 9 } },
      ]);
      // Older than the bucket's first: it becomes the first.
      await h.stores.telemetry.append(tenant, device, [{ timestamp_ms: slot + MINUTE, metrics: { v: 7 } }]);
      expect((await aggregate(tenant, device, "5m", range))[0]!.metrics.v).toEqual({
        min: 5,
        max: 9,
        avg: 7,
        sum: 21,
        count: 3,
        first: 7,
        last: 9,
      });
      // The maximum is overwritten with a smaller value: the maximum cannot be subtracted, it is recomputed.
      await h.stores.telemetry.append(tenant, device, [
        { timestamp_ms: slot + 3 * MINUTE, metrics: { v: 1 } },
      ]);
      expect((await aggregate(tenant, device, "5m", range))[0]!.metrics.v).toEqual({
        min: 1,
        max: 7,
        avg: 13 / 3,
        sum: 13,
        count: 3,
        first: 7,
        last: 1,
      });
      // The same point again (a client's retry): nothing changes.
      await h.stores.telemetry.append(tenant, device, [
        { timestamp_ms: slot + 3 * MINUTE, metrics: { v: 1 } },
      ]);
      // A point rewritten without one of its metrics takes it out of the bucket.
      await h.stores.telemetry.append(tenant, device, [{ timestamp_ms: slot + MINUTE, metrics: { u: 3 } }]);
      const [bucket] = await aggregate(tenant, device, "5m", range);
      expect(bucket!.metrics).toEqual({
        u: { min: 3, max: 3, avg: 3, sum: 3, count: 1, first: 3, last: 3 },
        v: { min: 1, max: 5, avg: 3, sum: 6, count: 2, first: 5, last: 1 },
      });
      await h.stores.telemetry.flush();
      expect(await aggregate(tenant, device, "5m", range)).toEqual([bucket]);
    });

    it("makes days of the tenant's time zone: half-hour offsets, and 23-hour days when clocks go forward", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      // Around T0, 29 March 2026: Berlin goes from UTC+1 to UTC+2 at 01:00 UTC; Kolkata is always UTC+5:30.
      const times = [-6, -1, 0, 17, 18, 19, 21, 22, 23, 24, 30].map(
        (hours) => T0 - 30 * MINUTE + hours * HOUR,
      );
      await h.stores.telemetry.append(
        tenant,
        device,
        times.map((t, i) => ({ timestamp_ms: t, metrics: { n: i } })),
      );
      const range = { from: T0 - 2 * DAY, to: T0 + 3 * DAY };
      const kolkata = await aggregate(tenant, device, "1d", range, { timeZone: "Asia/Kolkata" });
      expect(
        kolkata.map((bucket) => [new Date(bucket.start_ms).toISOString(), bucket.metrics.n!.count]),
      ).toEqual([
        ["2026-03-27T18:30:00.000Z", 1],
        ["2026-03-28T18:30:00.000Z", 4],
        ["2026-03-29T18:30:00.000Z", 6],
      ]);
      const berlin = await aggregate(tenant, device, "1d", range, { timeZone: "Europe/Berlin" });
      expect(berlin.map((bucket) => new Date(bucket.start_ms).toISOString())).toEqual([
        "2026-03-27T23:00:00.000Z",
        "2026-03-28T23:00:00.000Z",
        // The day of the change lasted 23 hours: the next one starts at 22:00 UTC.
        "2026-03-29T22:00:00.000Z",
      ]);
      expect(berlin.map((bucket) => bucket.metrics.n!.count)).toEqual([1, 6, 4]);
      expect(berlin[1]!.metrics.n).toMatchObject({ first: 1, last: 6 });
    });

    it("refuses a range of more buckets than the bound, and an empty range", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      await expect(
        aggregate(tenant, device, "5m", { from: T0 - (MAX_AGGREGATE_BUCKETS + 1) * 5 * MINUTE, to: T0 }),
      ).rejects.toBeInstanceOf(QueryRangeError);
      await expect(
        aggregate(tenant, device, "1d", { from: T0 - (MAX_AGGREGATE_BUCKETS + 2) * DAY, to: T0 }),
      ).rejects.toBeInstanceOf(QueryRangeError);
      await expect(aggregate(tenant, device, "1h", { from: T0, to: T0 })).rejects.toBeInstanceOf(
        QueryRangeError,
      );
      expect(
        await aggregate(tenant, device, "5m", { from: T0 - MAX_AGGREGATE_BUCKETS * 5 * MINUTE, to: T0 }),
      ).toEqual([]);
    });

    it("keeps rollups two years: the trend outlives the raw points, then goes too", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      const t = T0 - HOUR;
      await h.stores.telemetry.append(tenant, device, [{ timestamp_ms: t, metrics: { v: 4 } }]);
      await h.stores.telemetry.flush();
      const range = { from: Math.floor(t / DAY) * DAY, to: Math.floor(t / DAY) * DAY + DAY };
      try {
        h.setNow(t + TELEMETRY_RETENTION_MS + DAY);
        expect(await h.stores.telemetry.latest(tenant, device, 1)).toEqual([]);
        expect((await aggregate(tenant, device, "1h", range))[0]?.metrics.v?.count).toBe(1);
        h.setNow(t + ROLLUP_RETENTION_MS + DAY);
        expect(await aggregate(tenant, device, "1h", range)).toEqual([]);
      } finally {
        h.setNow(T0);
      }
    });

    it("answers hours and days exactly across a range whose older part the store has compacted", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      // Two blocks of points two days apart, each over three hours; then the clock moves on until the
      // older block is past raw retention by more than a day (SQLite compacts its slots into hours) and
      // the newer one is not, and the store's upkeep runs.
      const fresh = Math.floor(T0 / HOUR) * HOUR - 3 * HOUR;
      const old = fresh - 2 * DAY;
      const points = new Map<number, Record<string, number>>();
      for (const start of [old, fresh]) {
        for (let t = start; t < start + 3 * HOUR; t += 7 * MINUTE) {
          points.set(t, { v: (t / MINUTE) % 17, w: 100 - ((t / MINUTE) % 13) });
        }
      }
      const written = [...points].map(([timestamp_ms, metrics]) => ({ timestamp_ms, metrics }));
      await h.stores.telemetry.append(tenant, device, written);
      await h.stores.telemetry.flush();
      const range = { from: old - HOUR, to: fresh + 4 * HOUR };
      try {
        h.setNow(fresh + TELEMETRY_RETENTION_MS + 12 * HOUR);
        await h.upkeep();
        expect(await aggregate(tenant, device, "1h", range)).toEqual(
          expectedBuckets(points, { ...range, width: HOUR }),
        );
        expect(await aggregate(tenant, device, "1d", range)).toEqual(
          expectedBuckets(points, { ...range, width: DAY }),
        );
        // The newer block is still kept at five minutes.
        const newer = { from: fresh, to: fresh + 3 * HOUR };
        expect(await aggregate(tenant, device, "5m", newer)).toEqual(
          expectedBuckets(points, { ...newer, width: 5 * MINUTE }),
        );
      } finally {
        h.setNow(T0);
      }
    });

    it("rebuilds a device's rollups from its raw points, leaving days past raw retention as they are", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      const t = T0 - 2 * HOUR;
      await h.stores.telemetry.append(tenant, device, [
        { timestamp_ms: t, metrics: { v: 1 } },
        { timestamp_ms: t + MINUTE, metrics: { v: 3 } },
      ]);
      const day = Math.floor(t / DAY) * DAY;
      const range = { from: day - DAY, to: day + DAY };
      const before = await aggregate(tenant, device, "1h", range);
      const rebuilt = await h.stores.telemetry.rebuildRollups(tenant, device, range);
      expect(rebuilt).toEqual({ days: 2, points: 2 });
      expect(await aggregate(tenant, device, "1h", range)).toEqual(before);
      try {
        h.setNow(t + TELEMETRY_RETENTION_MS + DAY);
        expect(await h.stores.telemetry.rebuildRollups(tenant, device, range)).toEqual({
          days: 2,
          points: 0,
        });
        expect(await aggregate(tenant, device, "1h", range)).toEqual(before);
      } finally {
        h.setNow(T0);
      }
    });

    it("pages a window oldest first", async () => {
      const tenant = h.tenant();
      const device = randomUUID();
      const points = Array.from({ length: 25 }, (_, i) => ({
        timestamp_ms: T0 - HOUR + i * 1000,
        metrics: { i },
      }));
      await h.stores.telemetry.append(tenant, device, points);
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await h.stores.telemetry.windowAscending(tenant, device, {
          from: T0 - HOUR + 2000,
          to: T0,
          limit: 10,
          cursor,
        });
        seen.push(...page.items.map((point) => point.metrics.i!));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => i + 2));
    });

    it("sets a tenant's time zone, and says since when", async () => {
      const tenant = h.tenant();
      await h.stores.tenants.create({ id: tenant });
      expect(await h.stores.tenants.setTimeZone(tenant, "Asia/Kolkata")).toMatchObject({
        id: tenant,
        time_zone: "Asia/Kolkata",
        time_zone_since: T0,
      });
      expect(await h.stores.tenants.get(tenant)).toMatchObject({ time_zone: "Asia/Kolkata" });
      expect(await h.stores.tenants.setTimeZone(h.tenant(), "UTC")).toBeNull();
    });

    if (backend === "firestore") {
      it("bills trend reads by documents, not points: 24 h at 5 min and 7 days at 1 h", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        const start = Math.floor((T0 - 7 * DAY) / HOUR) * HOUR;
        // One point an hour for a week: every day document exists, as with 5 points a minute.
        await h.stores.telemetry.append(
          tenant,
          device,
          Array.from({ length: 7 * 24 }, (_, i) => ({
            timestamp_ms: start + i * HOUR + 30 * MINUTE,
            metrics: { v: i },
          })),
        );
        const day = await h.billed(() => aggregate(tenant, device, "5m", { from: T0 - DAY, to: T0 }));
        expect(day.rollups.reads).toBeLessThanOrEqual(2);
        const week = await h.billed(() => aggregate(tenant, device, "1h", { from: T0 - 7 * DAY, to: T0 }));
        expect(week.result).toHaveLength(7 * 24);
        expect(week.rollups.reads).toBeLessThanOrEqual(8);
      });
    }

    it("matches the raw points bucket for bucket, whatever the order, duplicates and overwrites (property)", async () => {
      // Timestamps on a grid over three days, few enough that they collide: rewrites are frequent.
      const base = T0 - 3 * DAY;
      const step = 17 * MINUTE + 13_000;
      const grid = Math.floor((3 * DAY) / step);
      const point = fc.record({
        k: fc.integer({ min: 0, max: grid - 1 }),
        metrics: fc.dictionary(fc.constantFrom("a", "b", "c"), fc.integer({ min: -50, max: 50 }), {
          minKeys: 1,
        }),
      });
      const batches = fc.array(fc.array(point, { minLength: 1, maxLength: 6 }), {
        minLength: 1,
        maxLength: 12,
      });
      await fc.assert(
        fc.asyncProperty(batches, async (writes) => {
          const tenant = h.tenant("p");
          const device = randomUUID();
          const raw = new Map<number, Record<string, number>>();
          for (const batch of writes) {
            const points: NewPoint[] = batch.map(({ k, metrics }) => ({
              timestamp_ms: base + k * step,
              metrics,
            }));
            await h.stores.telemetry.append(tenant, device, points);
            for (const p of points) raw.set(p.timestamp_ms, p.metrics);
          }
          const range = { from: base - DAY, to: base + 4 * DAY };
          expect(await aggregate(tenant, device, "5m", { from: base, to: base + 3 * DAY })).toEqual(
            expectedBuckets(raw, { from: base, to: base + 3 * DAY, width: 5 * MINUTE }),
          );
          expect(await aggregate(tenant, device, "1h", range)).toEqual(
            expectedBuckets(raw, { ...range, width: HOUR }),
          );
          // Kolkata has no daylight saving: its days are fixed 24-hour buckets offset by 5:30.
          expect(await aggregate(tenant, device, "1d", range, { timeZone: "Asia/Kolkata" })).toEqual(
            expectedBuckets(raw, { ...range, width: DAY, offset: 330 * MINUTE }),
          );
        }),
        { numRuns: backend === "firestore" ? 15 : 60, endOnFailure: true },
      );
    }, 240_000);
  });
}
