import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLock } from "@firebrick/lock";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import { describe, expect, it } from "vitest";
import { runUnderLock } from "../../sessions/sweeper-lock.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { AUDIT_RETENTION_MS, TELEMETRY_RETENTION_MS } from "../types.js";
import { createSqliteStores } from "./index.js";
import { sqliteRetentionTargets } from "./retention.js";
import { RETENTION_LOCK_KEY, startRetentionJob } from "./retention-job.js";
import { COMPACT_AFTER_MS } from "./rollup-compaction.js";

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 5, 1);
const DEVICES = [
  ["acme", "00000000-0000-4000-8000-000000000001"],
  ["acme", "00000000-0000-4000-8000-000000000002"],
  ["globex", "00000000-0000-4000-8000-000000000001"],
] as const;

function database() {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-retention-"));
  return openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
}

/** Per device: `expired` points past retention at NOW, and `kept` points within it. */
async function fill(db: ReturnType<typeof database>, expired: number, kept: number) {
  const stores = createSqliteStores(db, { clock: () => NOW });
  for (const [tenant, device] of DEVICES) {
    const points = [
      ...Array.from({ length: expired }, (_, i) => NOW - TELEMETRY_RETENTION_MS - (i + 1) * 60_000),
      ...Array.from({ length: kept }, (_, i) => NOW - TELEMETRY_RETENTION_MS + (i + 1) * 60_000),
    ].map((timestamp_ms) => ({ timestamp_ms, metrics: { t: 1 } }));
    await stores.telemetry.append(tenant, device, points);
  }
  return stores;
}

const countTelemetry = (db: ReturnType<typeof database>) =>
  (db.prepare("SELECT count(*) AS n FROM telemetry").get() as { n: number }).n;

describe("SQLite retention", () => {
  it("deletes every expired telemetry point of every device and tenant, in batches of at most the limit", async () => {
    const db = database();
    await fill(db, 7, 3);
    const [telemetry] = sqliteRetentionTargets(db);
    const batches: number[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = telemetry!.deleteExpired(NOW, 4);
      batches.push(batch.deleted);
      if (batch.done) break;
    }
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(21);
    expect(countTelemetry(db)).toBe(9);
    const oldest = db.prepare("SELECT min(timestamp_ms) AS t FROM telemetry").get() as { t: number };
    expect(oldest.t).toBeGreaterThan(NOW - TELEMETRY_RETENTION_MS);
  });

  it("keeps a point until the moment it expires", async () => {
    const db = database();
    const stores = createSqliteStores(db, { clock: () => NOW });
    const [tenant, device] = DEVICES[0];
    await stores.telemetry.append(tenant, device, [
      { timestamp_ms: NOW - TELEMETRY_RETENTION_MS + 1, metrics: { t: 1 } },
    ]);
    const [telemetry] = sqliteRetentionTargets(db);
    expect(telemetry!.deleteExpired(NOW, 100)).toEqual({ deleted: 0, done: true });
    expect(telemetry!.deleteExpired(NOW + 1, 100)).toEqual({ deleted: 1, done: true });
  });

  it("deletes audit entries past their expiry and keeps the others", async () => {
    const db = database();
    const stores = createSqliteStores(db, { clock: () => NOW });
    for (const age of [AUDIT_RETENTION_MS + DAY, AUDIT_RETENTION_MS + 2 * DAY, DAY]) {
      await stores.audit.append("acme", {
        action: "auth.login",
        user_id: null,
        outcome: "success",
        timestamp_ms: NOW - age,
      });
    }
    const audit = sqliteRetentionTargets(db).find((target) => target.table === "audit_log")!;
    expect(audit.deleteExpired(NOW, 1)).toEqual({ deleted: 1, done: false });
    expect(audit.deleteExpired(NOW, 1)).toEqual({ deleted: 1, done: false });
    expect(audit.deleteExpired(NOW, 1)).toEqual({ deleted: 0, done: true });
    const page = await stores.audit.query("acme", { limit: 10 });
    expect(page.items.map((entry) => entry.timestamp_ms)).toEqual([NOW - DAY]);
  });

  it("runs a pass under the service lock, and deletes nothing while another instance holds it", async () => {
    const db = database();
    await fill(db, 5, 2);
    const lock = createLock(createSqliteBackend(db));
    const job = startRetentionJob(
      {
        targets: sqliteRetentionTargets(db),
        runExclusive: runUnderLock(lock, { key: RETENTION_LOCK_KEY }),
        clock: () => NOW,
        batchSize: 2,
      },
      false,
    );
    const other = await createSqliteBackend(db).acquire({ key: RETENTION_LOCK_KEY, ttlMs: 60_000 });
    expect(other.ok).toBe(true);
    expect(await job.runOnce()).toEqual({});
    expect(countTelemetry(db)).toBe(21);
    if (other.ok) await createSqliteBackend(db).release({ lockId: other.lockId });
    expect(await job.runOnce()).toEqual({
      telemetry: 15,
      telemetry_rollups: 0,
      telemetry_rollup_hours: 0,
      audit_log: 0,
    });
    expect(countTelemetry(db)).toBe(6);
  });

  it("compacts five-minute rollups past raw retention into hour cells cut at the tenant's local midnight, in bounded batches", async () => {
    const db = database();
    const stores = createSqliteStores(db, { clock: () => NOW });
    await stores.tenants.create({ id: "acme" });
    await stores.tenants.setTimeZone("acme", "Asia/Kolkata");
    const device = DEVICES[0][1];
    // Two hours from 18:00 UTC (Kolkata's midnight is 18:30 UTC), one point a minute, 92 days ago; and
    // one point a day younger than the compaction horizon, which stays at five minutes.
    const HOUR = 3_600_000;
    const start = NOW - 92 * DAY + 18 * HOUR;
    const old = Array.from({ length: 120 }, (_, i) => ({
      timestamp_ms: start + i * 60_000,
      metrics: { t: i },
    }));
    const young = { timestamp_ms: NOW - COMPACT_AFTER_MS + DAY, metrics: { t: 1 } };
    await stores.telemetry.append("acme", device, [...old, young]);
    const compaction = sqliteRetentionTargets(db).find((target) => target.table === "telemetry_rollups")!;
    const batches: number[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = compaction.deleteExpired(NOW, 40);
      batches.push(batch.deleted);
      if (batch.done) break;
    }
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(24);
    const slots = db.prepare("SELECT slot_ms FROM telemetry_rollups").pluck().all();
    expect(slots).toEqual([Math.floor(young.timestamp_ms / 300_000) * 300_000]);
    const cells = db
      .prepare("SELECT start_ms, count, first, last FROM telemetry_rollup_hours ORDER BY start_ms")
      .all();
    expect(cells).toEqual([
      { start_ms: start, count: 30, first: 0, last: 29 },
      { start_ms: start + 30 * 60_000, count: 30, first: 30, last: 59 },
      { start_ms: start + HOUR, count: 60, first: 60, last: 119 },
    ]);
    // Hours and Kolkata days stay exact; five-minute buckets of compacted hours are left out.
    const range = { from: start, to: start + 2 * HOUR };
    const hours = await stores.telemetry.aggregate("acme", device, {
      ...range,
      interval: "1h",
      timeZone: "UTC",
    });
    expect(hours.map((bucket) => bucket.metrics.t!.count)).toEqual([60, 60]);
    const days = await stores.telemetry.aggregate("acme", device, {
      ...range,
      interval: "1d",
      timeZone: "Asia/Kolkata",
    });
    expect(days.map((bucket) => [bucket.metrics.t!.count, bucket.metrics.t!.first])).toEqual([
      [30, 0],
      [90, 30],
    ]);
    expect(
      await stores.telemetry.aggregate("acme", device, { ...range, interval: "5m", timeZone: "UTC" }),
    ).toEqual([]);
  });

  it("stops a run after maxRunMs and goes on where it stopped in the next", async () => {
    const db = database();
    await fill(db, 10, 0);
    const job = startRetentionJob(
      {
        targets: sqliteRetentionTargets(db),
        runExclusive: (task) => task({ fence: null }),
        clock: () => NOW,
        batchSize: 3,
        maxRunMs: 0,
      },
      false,
    );
    expect((await job.runOnce()).telemetry).toBe(3);
    let total = 3;
    for (let run = 0; run < 20 && countTelemetry(db) > 0; run++) total += (await job.runOnce()).telemetry!;
    expect(total).toBe(30);
    expect(countTelemetry(db)).toBe(0);
  });
});
