import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../stores/index.js";
import type { NewPoint, TelemetryStore } from "../stores/types.js";
import { UsageTally } from "../stores/usage.js";
import { LatestTelemetryCache } from "./latest-cache.js";

const START = Date.UTC(2026, 10, 23, 12, 0, 0);

function manualClock() {
  let now = START;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

interface Backend {
  telemetry: TelemetryStore;
  usage: UsageTally;
  clock: ReturnType<typeof manualClock>;
  /** Whether reads are billed (Firestore); SQLite counts the rows it reads, which cost nothing. */
  billed: boolean;
  /**
   * Lets the store's write-time margin pass in real time (Firestore: write times are its clock, not the
   * test's): a point written less than the margin before a refresh is read once more by the next one.
   */
  settle(): Promise<void>;
}

const MARGIN_MS = 100;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const backends: [string, () => Backend][] = [
  [
    "SQLite",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "firebrick-cache-"));
      const db = openSqlite(join(dir, "test.sqlite"), SQLITE_MIGRATIONS);
      cleanups.push(() => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const usage = new UsageTally();
      const clock = manualClock();
      return {
        telemetry: createSqliteStores(db, { clock: clock.now, usage }).telemetry,
        usage,
        clock,
        billed: false,
        settle: async () => {},
      };
    },
  ],
  [
    "Firestore",
    () => {
      const db: Firestore = testFirestore("latest-cache");
      cleanups.push(() => db.terminate());
      const usage = new UsageTally();
      const clock = manualClock();
      const telemetry = createFirestoreStores(db, {
        clock: clock.now,
        usage,
        writeTimeMarginMs: MARGIN_MS,
      }).telemetry;
      return {
        telemetry,
        usage,
        clock,
        billed: true,
        settle: () => new Promise((resolve) => setTimeout(resolve, MARGIN_MS * 2)),
      };
    },
  ],
];

const point = (timestamp_ms: number, value = timestamp_ms % 1000): NewPoint => ({
  timestamp_ms,
  metrics: { zone_temp_c: 20 + value / 1000 },
});

/** `count` points, one every 12 s (the 5/min device budget), the last one `endAgoMs` before now. */
function history(now: number, count: number, endAgoMs = 1000): NewPoint[] {
  return Array.from({ length: count }, (_, i) => point(now - endAgoMs - (count - 1 - i) * 12_000));
}

const stamps = (points: { timestamp_ms: number }[]) => points.map((p) => p.timestamp_ms);

describe.each(backends)("the latest-points cache on %s", (_name, open) => {
  it("serves a scripted minute of dashboard polling at 5 s within 50 billed reads (naive: 1200)", async () => {
    const { telemetry, usage, clock, billed, settle } = open();
    await telemetry.append("acme", "ahu-1", history(clock.now(), 150));
    await settle();
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now });
    const otherInstance = telemetry; // writes that bypass this instance's cache

    const opened = await cache.latest("acme", "ahu-1", 100); // the dashboard opens: one full load
    expect(opened).toHaveLength(100);
    usage.reset();

    let last: { timestamp_ms: number }[] = [];
    for (let second = 0; second < 60; second++) {
      // The device writes 5 points a minute: through this instance, or through another one.
      if (second % 12 === 0) {
        const written = [point(clock.now())];
        if (second % 24 === 0) {
          await telemetry.append("acme", "ahu-1", written);
          cache.recordWrite("acme", "ahu-1", written);
        } else {
          await otherInstance.append("acme", "ahu-1", written);
        }
        await settle();
      }
      if (second % 5 === 0) last = await cache.latest("acme", "ahu-1", 100);
      clock.advance(1000);
    }
    const cachedReads = usage.reads;

    usage.reset();
    for (let poll = 0; poll < 12; poll++) await telemetry.latest("acme", "ahu-1", 100);
    const naiveReads = usage.reads;

    console.log(`dashboard minute: ${cachedReads} billed reads with the cache, ${naiveReads} naive`);
    expect(naiveReads).toBe(1200);
    // On SQLite a refresh after any write reads the newest points again: rows, not billed reads.
    if (billed) expect(cachedReads).toBeLessThanOrEqual(50);
    // And the cache served the truth: the last poll equals what the store says now (minus the point
    // written after it).
    expect(stamps(last)).toEqual(stamps(await telemetry.latest("acme", "ahu-1", 100)));
  });

  it("bills at most one read for a poll with no new data, and none for one right after a refresh", async () => {
    const { telemetry, usage, clock, settle } = open();
    await telemetry.append("acme", "vav-7", history(clock.now(), 120));
    await settle();
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now, minRefreshMs: 1000 });
    await cache.latest("acme", "vav-7", 100);

    clock.advance(5000);
    usage.reset();
    await cache.latest("acme", "vav-7", 100);
    expect(usage.reads).toBeLessThanOrEqual(1);

    usage.reset();
    await cache.latest("acme", "vav-7", 50);
    expect(usage.reads).toBe(0);
  });

  it("lets dashboards polling one device at once share a single refresh", async () => {
    const { telemetry, usage, clock, settle } = open();
    await telemetry.append("acme", "chiller", history(clock.now(), 30));
    await settle();
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now });
    await cache.latest("acme", "chiller", 100);
    clock.advance(5000);
    usage.reset();
    const views = await Promise.all([1, 2, 3, 4, 5].map(() => cache.latest("acme", "chiller", 100)));
    expect(usage.reads).toBeLessThanOrEqual(1);
    for (const view of views) expect(view).toHaveLength(30);
  });

  it("never serves one tenant's points to another, even for the same device id", async () => {
    const { telemetry, clock } = open();
    await telemetry.append("acme", "shared-id", [point(clock.now() - 5000, 1)]);
    await telemetry.append("globex", "shared-id", [point(clock.now() - 4000, 2)]);
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now });

    const acme = await cache.latest("acme", "shared-id", 100);
    const globex = await cache.latest("globex", "shared-id", 100);
    expect(acme.map((p) => p.tenant_id)).toEqual(["acme"]);
    expect(globex.map((p) => p.tenant_id)).toEqual(["globex"]);

    const written = [point(clock.now())];
    await telemetry.append("acme", "shared-id", written);
    cache.recordWrite("acme", "shared-id", written);
    clock.advance(5000);
    expect((await cache.latest("globex", "shared-id", 100)).map((p) => p.tenant_id)).toEqual(["globex"]);
    expect(await cache.latest("acme", "shared-id", 100)).toHaveLength(2);
  });

  it("places an out-of-order point written through the API where it belongs", async () => {
    const { telemetry, clock } = open();
    const now = clock.now();
    await telemetry.append("acme", "ahu-2", [point(now - 30_000), point(now - 10_000)]);
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now });
    await cache.latest("acme", "ahu-2", 100);

    const late = [point(now - 20_000)];
    await telemetry.append("acme", "ahu-2", late);
    cache.recordWrite("acme", "ahu-2", late);
    clock.advance(5000);
    const served = await cache.latest("acme", "ahu-2", 100);
    expect(stamps(served)).toEqual([now - 10_000, now - 20_000, now - 30_000]);
    expect(stamps(served)).toEqual(stamps(await telemetry.latest("acme", "ahu-2", 100)));
  });

  it("sees what another instance wrote at its first refresh after the write: a new point, a late one, an overwrite", async () => {
    const { telemetry, clock } = open();
    const now = clock.now();
    await telemetry.append("acme", "ahu-3", [point(now - 30_000), point(now - 10_000)]);
    const here = new LatestTelemetryCache(telemetry, { clock: clock.now });
    const there = new LatestTelemetryCache(telemetry, { clock: clock.now });
    await here.latest("acme", "ahu-3", 100);
    await there.latest("acme", "ahu-3", 100);

    // Written through the other instance (its cache records its own write): older than the newest
    // point held here, a rewrite of a point held here, and a new one.
    const written = [
      { ...point(now - 20_000), source: "sqlite_backfill" },
      point(now - 10_000, 777),
      point(now - 5_000),
    ];
    await telemetry.append("acme", "ahu-3", written);
    there.recordWrite("acme", "ahu-3", written);
    clock.advance(5000);
    const served = await here.latest("acme", "ahu-3", 100);
    expect(stamps(served)).toEqual([now - 5_000, now - 10_000, now - 20_000, now - 30_000]);
    expect(served[1]!.metrics).toEqual(point(now - 10_000, 777).metrics);
    expect(served).toEqual(await telemetry.latest("acme", "ahu-3", 100));
    expect(await there.latest("acme", "ahu-3", 100)).toEqual(served);
  });

  it("holds at most maxBytes of entries, dropping the least recently polled device", async () => {
    const { telemetry, usage, clock, settle } = open();
    for (const device of ["d1", "d2", "d3"])
      await telemetry.append("acme", device, [point(clock.now() - 1000)]);
    await settle();
    const probe = new LatestTelemetryCache(telemetry, { clock: clock.now });
    await probe.latest("acme", "d1", 100);
    const maxBytes = Math.floor(probe.bytes * 2.5);
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now, maxBytes });
    await cache.latest("acme", "d1", 100);
    await cache.latest("acme", "d2", 100);
    await cache.latest("acme", "d1", 100); // d1 is now the most recent
    await cache.latest("acme", "d3", 100); // drops d2
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBeLessThanOrEqual(maxBytes);

    usage.reset();
    await cache.latest("acme", "d1", 100); // still held and fresh: from memory
    expect(usage.reads).toBe(0);
    await cache.latest("acme", "d2", 100); // dropped: loaded again
    expect(usage.reads).toBe(1);
  });

  it("passes a request for more points than it holds straight to the store", async () => {
    const { telemetry, clock } = open();
    await telemetry.append("acme", "big", history(clock.now(), 130));
    const cache = new LatestTelemetryCache(telemetry, { clock: clock.now });
    const served = await cache.latest("acme", "big", 120);
    expect(served).toHaveLength(120);
    expect(cache.size).toBe(0);
  });
});

describe("the latest-points cache across a store switch", () => {
  it("reloads from the new store when the telemetry area moves (a flag flip)", async () => {
    const clock = manualClock();
    const open = () => {
      const dir = mkdtempSync(join(tmpdir(), "firebrick-cache-flip-"));
      const db = openSqlite(join(dir, "test.sqlite"), SQLITE_MIGRATIONS);
      cleanups.push(() => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return createSqliteStores(db, { clock: clock.now }).telemetry;
    };
    const legacy = open();
    const next = open();
    await legacy.append("acme", "ahu-9", [point(clock.now() - 2000)]);
    // The new store holds a point older than the newest one held: only a full reload finds it.
    await next.append("acme", "ahu-9", [point(clock.now() - 3000), point(clock.now() - 2000)]);
    let current = legacy;
    const cache = new LatestTelemetryCache(() => current, { clock: clock.now });
    expect(await cache.latest("acme", "ahu-9", 100)).toHaveLength(1);

    current = next;
    clock.advance(5000);
    expect(await cache.latest("acme", "ahu-9", 100)).toHaveLength(2);
  });
});
