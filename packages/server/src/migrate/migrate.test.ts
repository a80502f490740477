import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLock } from "@firebrick/lock";
import { createFirestoreBackend } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores, type Stores } from "../stores/index.js";
import { WriteBudget } from "./budget.js";
import { firestoreCheckpoints, StaleRunnerError } from "./checkpoints.js";
import { compareTelemetry } from "./compare.js";
import { type FixtureManifest, generateLegacyFixture } from "./fixture.js";
import { runJob } from "./job.js";
import { backfillAuditJob, backfillTelemetryJob, migrateUsersJob } from "./jobs.js";
import { isUuidV4 } from "./legacy-ids.js";
import { JobRetrier } from "./retry.js";
import { rebuildRollupsJob } from "./rollups-rebuild.js";
import { firestoreJobRuntime } from "./runtime.js";

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

interface World {
  sqlite: SqliteDatabase;
  firestore: Firestore;
  source: Stores;
  target: Stores;
  manifest: FixtureManifest;
}

async function makeWorld(
  label: string,
  fixture: Parameters<typeof generateLegacyFixture>[1] = {},
): Promise<World> {
  const sqlite = openSqlite(
    join(mkdtempSync(join(tmpdir(), "firebrick-migrate-")), "legacy.sqlite"),
    SQLITE_MIGRATIONS,
  );
  const manifest = await generateLegacyFixture(sqlite, { now: NOW, ...fixture });
  const firestore = testFirestore(label);
  const clock = () => NOW;
  return {
    sqlite,
    firestore,
    manifest,
    source: createSqliteStores(sqlite, { clock }),
    target: createFirestoreStores(firestore, { clock }),
  };
}

const closeWorld = async (world: World | undefined) => {
  world?.sqlite.close();
  await world?.firestore.terminate();
};

describe("firebrick migrate users", () => {
  let world: World;
  beforeAll(async () => {
    world = await makeWorld("mig-users", { users: 8, devices: 2, days: 1, pointsPerDay: 4, auditPerDay: 1 });
  });
  afterAll(() => closeWorld(world));

  it("copies tenants, devices and users with UUIDv4 ids, flags legacy hashes and refuses unsalted ones", async () => {
    const report = await runJob(
      migrateUsersJob(world.source, world.target, new JobRetrier()),
      firestoreJobRuntime(world.firestore),
    );
    const { users, devices, tenants } = world.manifest;
    const unsalted = users.filter((user) => user.format === "unsalted");
    expect(report.refused).toBe(unsalted.length);
    expect(report.notes.filter((note) => note.includes("unsalted"))).toHaveLength(unsalted.length);
    expect(report.written).toBe(tenants.length + devices.length + users.length - unsalted.length);

    for (const tenant of tenants) expect(await world.target.tenants.get(tenant)).not.toBeNull();
    for (const device of devices)
      expect(await world.target.devices.get(device.tenant, device.id)).not.toBeNull();
    expect(users.some((user) => !isUuidV4(user.id))).toBe(true);
    for (const user of users) {
      const migrated = await world.target.users.getByUsername(user.tenant, user.username);
      if (user.format === "unsalted") {
        expect(migrated).toBeNull();
        continue;
      }
      expect(migrated).not.toBeNull();
      expect(isUuidV4(migrated!.id)).toBe(true);
      if (isUuidV4(user.id)) expect(migrated!.id).toBe(user.id);
      else expect(migrated!.id).not.toBe(user.id); // a legacy integer id received a UUIDv4
      expect(migrated!.needs_rehash).toBe(user.format === "legacy");
      expect(migrated!.role).toBe(user.role);
    }
  });

  it("does nothing on a second run, and writes nothing twice when forced to start over", async () => {
    const runtime = firestoreJobRuntime(world.firestore);
    const again = await runJob(migrateUsersJob(world.source, world.target, new JobRetrier()), runtime);
    expect(again.already_complete).toBe(true);
    const restarted = await runJob(migrateUsersJob(world.source, world.target, new JobRetrier()), {
      ...runtime,
      restart: true,
    });
    expect(restarted.written).toBe(0);
    expect(restarted.skipped).toBe(restarted.read - restarted.refused);
  });
});

describe("firebrick backfill audit", () => {
  let world: World;
  beforeAll(async () => {
    world = await makeWorld("mig-audit", { users: 4, devices: 0, days: 1, auditPerDay: 3 });
  });
  afterAll(() => closeWorld(world));

  it("copies exactly the last N days of every tenant, tagged sqlite_backfill, idempotently", async () => {
    const runtime = firestoreJobRuntime(world.firestore);
    const dry = await runJob(
      backfillAuditJob(world.source, world.target, { days: 7, now: NOW, retrier: new JobRetrier() }),
      {
        ...runtime,
        dryRun: true,
      },
    );
    const report = await runJob(
      backfillAuditJob(world.source, world.target, { days: 7, now: NOW, retrier: new JobRetrier() }),
      runtime,
    );
    expect(report.written).toBe(dry.read);
    for (const tenant of world.manifest.tenants) {
      const want = (await world.source.audit.query(tenant, { limit: 1000 })).items.filter(
        (entry) => entry.timestamp_ms >= NOW - 7 * DAY,
      );
      const got = (await world.target.audit.query(tenant, { limit: 1000 })).items;
      expect(got.map((entry) => entry.id).sort()).toEqual(want.map((entry) => entry.id).sort());
      expect(got.every((entry) => entry.source === "sqlite_backfill")).toBe(true);
      expect(want.length).toBeGreaterThan(0);
    }
    // Starting over appends nothing twice: same ids.
    await runJob(
      backfillAuditJob(world.source, world.target, { days: 7, now: NOW, retrier: new JobRetrier() }),
      {
        ...runtime,
        restart: true,
      },
    );
    const tenant = world.manifest.tenants[0]!;
    const ids = (await world.target.audit.query(tenant, { limit: 1000 })).items.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("firebrick backfill telemetry", () => {
  let world: World;
  beforeAll(async () => {
    world = await makeWorld("mig-telemetry", {
      users: 2,
      devices: 3,
      days: 4,
      pointsPerDay: 300,
      auditPerDay: 1,
    });
  });
  afterAll(() => closeWorld(world));

  it("copies every point of the window, batch by batch within each device's write budget, and compares green", async () => {
    let now = NOW;
    const writes: { key: string; at: number }[] = [];
    const budget = new WriteBudget(
      2,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    const take = budget.take.bind(budget);
    budget.take = async (key: string) => {
      await take(key);
      writes.push({ key, at: now });
    };
    const before = await compareTelemetry(world.source, world.target, { sample: 3, seed: 7 });
    expect(before.green).toBe(false);

    const report = await runJob(
      backfillTelemetryJob(world.source, world.target, {
        days: 7,
        now: NOW,
        retrier: new JobRetrier(),
        budget,
      }),
      firestoreJobRuntime(world.firestore),
    );
    expect(report.written).toBe(world.manifest.points);
    // 1200 points a device in batches of 500: 3 batches each, at most 2 per device per virtual minute.
    expect(writes).toHaveLength(9);
    for (const { key, at } of writes) {
      expect(
        writes.filter((w) => w.key === key && w.at >= at && w.at < at + 60_000).length,
      ).toBeLessThanOrEqual(2);
    }
    const after = await compareTelemetry(world.source, world.target, { sample: 3, seed: 7 });
    // The backfill built the rollups of what it copied: the trend buckets agree too.
    expect(after).toMatchObject({ green: true, mismatched: 0, mismatched_buckets: 0, sampled_series: 3 });
    expect(after.read).toBe(600);
  });

  it("lists, and does not copy, a point whose metric names Firestore reserves (kept by SQLite before the rule)", async () => {
    const device = world.manifest.devices[0]!;
    const at = NOW - DAY / 2 + 1;
    // As an older Firebrick wrote it: straight into the table, which no longer takes such names.
    world.sqlite
      .prepare(
        "INSERT INTO telemetry (tenant_id, device_id, timestamp_ms, metrics, source, expire_at) VALUES (?, ?, ?, ?, 'api', ?)",
      )
      .run(device.tenant, device.id, at, JSON.stringify({ __x__: 1, zone_temp_c: 20 }), at + 90 * DAY);
    const report = await runJob(
      backfillTelemetryJob(world.source, world.target, {
        days: 7,
        now: NOW,
        retrier: new JobRetrier(),
        budget: new WriteBudget(100_000),
      }),
      { ...firestoreJobRuntime(world.firestore), restart: true },
    );
    expect(report).toMatchObject({
      refused: 1,
      written: world.manifest.points,
      read: world.manifest.points + 1,
    });
    expect(report.notes).toEqual([`refused point ${device.tenant}/${device.id}@${at}: metric names __x__`]);
    expect(
      (await world.target.telemetry.window(device.tenant, device.id, { from: at, to: at + 1, limit: 1 }))
        .items,
    ).toEqual([]);
    world.sqlite
      .prepare("DELETE FROM telemetry WHERE tenant_id = ? AND device_id = ? AND timestamp_ms = ?")
      .run(device.tenant, device.id, at);
  });

  it("reports a differing point when the stores disagree", async () => {
    const device = world.manifest.devices[0]!;
    const [newest] = await world.source.telemetry.latest(device.tenant, device.id, 1);
    await world.target.telemetry.append(device.tenant, device.id, [
      { timestamp_ms: newest!.timestamp_ms, metrics: { zone_temp_c: -99 } },
    ]);
    const report = await compareTelemetry(world.source, world.target, { sample: 3, seed: 7 });
    expect(report.green).toBe(false);
    // The point, and the five-minute bucket it is in.
    expect(report).toMatchObject({ mismatched: 2, mismatched_buckets: 1 });
    expect(report.notes[0]).toContain("metrics differ");
    expect(report.notes[1]).toContain("rollup");
    await world.target.telemetry.append(device.tenant, device.id, [newest!]);
    expect((await compareTelemetry(world.source, world.target, { sample: 3, seed: 7 })).green).toBe(true);
  });

  it("rebuilds lost rollups from the raw points with `rollups rebuild`, resumably, and compares green again", async () => {
    const device = world.manifest.devices[0]!;
    // The device's day documents are lost (a bug, an operator's mistake): its trend buckets differ.
    const days = await world.firestore
      .collection("telemetry_rollups")
      .where("device_id", "==", device.id)
      .get();
    expect(days.size).toBeGreaterThan(0);
    for (const doc of days.docs) await doc.ref.delete();
    const target = createFirestoreStores(world.firestore, { clock: () => NOW });
    const lost = await compareTelemetry(world.source, target, { sample: 3, seed: 7 });
    expect(lost.mismatched_buckets).toBeGreaterThan(0);
    const runtime = firestoreJobRuntime(world.firestore);
    const job = () =>
      rebuildRollupsJob(target, {
        tenant: device.tenant,
        device: device.id,
        from: NOW - 8 * DAY,
        to: NOW + 1,
        retrier: new JobRetrier(),
        daysPerChunk: 2,
      });
    const report = await runJob(job(), runtime);
    // Every point of the device in the range, read again: 1,200 a device in this fixture.
    expect(report.written).toBe(world.manifest.points / world.manifest.devices.length);
    expect((await compareTelemetry(world.source, target, { sample: 3, seed: 7 })).green).toBe(true);
    // Its checkpoint says it is done: a second run does nothing.
    expect(await runJob(job(), runtime)).toMatchObject({ already_complete: true });
  });
});

describe("job guard and fenced checkpoints", () => {
  let firestore: Firestore;
  beforeAll(() => {
    firestore = testFirestore("mig-fence");
  });
  afterAll(() => firestore.terminate());

  it("refuses a checkpoint from a runner whose lock was taken over by a newer one", async () => {
    const backend = createFirestoreBackend(firestore);
    const checkpoints = firestoreCheckpoints(firestore);
    const first = await backend.acquire({ key: "job:fenced", ttlMs: 1000 });
    if (!first.ok) throw new Error("expected to acquire");
    await checkpoints.save("fenced", { cursor: 1, counts: zero(), done: false, notes: [] }, first.fence);
    // The first runner pauses past its TTL (and the tolerance); a second one takes over.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const second = await backend.acquire({ key: "job:fenced", ttlMs: 10_000 });
    if (!second.ok) throw new Error("expected the expired lock to be taken over");
    expect(second.fence > first.fence).toBe(true);
    await checkpoints.save("fenced", { cursor: 2, counts: zero(), done: false, notes: [] }, second.fence);
    await expect(
      checkpoints.save("fenced", { cursor: 99, counts: zero(), done: false, notes: [] }, first.fence),
    ).rejects.toThrow(StaleRunnerError);
    expect((await checkpoints.load("fenced"))?.cursor).toBe(2);
  });

  it("never lets two runs of one job overlap", async () => {
    const { guard } = firestoreJobRuntime(firestore);
    const lock = createLock(createFirestoreBackend(firestore));
    await lock(
      async () => {
        await expect(guard("busy", async () => "ran")).rejects.toThrow(/already running elsewhere/);
      },
      { key: "job:busy", ttlMs: 10_000 },
    );
    expect(await guard("busy", async () => "ran")).toBe("ran");
  });
});

const zero = () => ({ read: 0, written: 0, skipped: 0, refused: 0, mismatched: 0 });
