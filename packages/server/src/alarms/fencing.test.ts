import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLock, type LockBackend } from "@firebrick/lock";
import { createFirestoreBackend } from "@firebrick/lock/firestore";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { runUnderLock } from "../sessions/sweeper-lock.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { onceLockTaken, pausePoint } from "../testing/lock-holders.js";
import { sweepOffline } from "./evaluator.js";
import { createFirestoreAlarmsStore } from "./firestore.js";
import { OFFLINE_SWEEP_LOCK_KEY } from "./offline-sweep.js";
import { createSqliteAlarmsStore } from "./sqlite.js";
import type { AlarmsStore } from "./types.js";

interface Instance {
  alarms: AlarmsStore;
  locks: LockBackend;
}

/** Two instances on one database: each with its own connection (or client), its own lock handle. */
async function twoInstances(
  backend: "sqlite" | "firestore",
): Promise<{ a: Instance; b: Instance; close(): Promise<void> }> {
  if (backend === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "firebrick-alarm-fence-"));
    const [first, second] = [0, 1].map(() =>
      openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS),
    ) as [ReturnType<typeof openSqlite>, ReturnType<typeof openSqlite>];
    return {
      a: { alarms: createSqliteAlarmsStore(first), locks: createSqliteBackend(first) },
      b: { alarms: createSqliteAlarmsStore(second), locks: createSqliteBackend(second) },
      async close() {
        first.close();
        second.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = testFirestore("alarm-fence");
  return {
    a: { alarms: createFirestoreAlarmsStore(db), locks: createFirestoreBackend(db) },
    b: { alarms: createFirestoreAlarmsStore(db), locks: createFirestoreBackend(db) },
    close: () => db.terminate(),
  };
}

describe.each(["sqlite", "firestore"] as const)("the offline sweep is fenced (%s)", (backend) => {
  let close: (() => Promise<void>) | undefined;
  afterAll(() => close?.());

  it("a holder paused past its lease wakes up and writes nothing: the next holder's fence refuses it", async () => {
    const instances = await twoInstances(backend);
    close = instances.close;
    const { a, b } = instances;
    const device = "0b7e7a5c-7a0e-4f3e-9a55-3a1d2b7c9d10";
    const rule = await a.alarms.createRule(
      "acme",
      { kind: "offline", device_id: device, for_ms: 60_000, severity: "critical" },
      null,
    );
    const quietUntil = rule.created_at;
    let lastSeen = quietUntil;
    const now = () => Date.now() + 120_000;

    // Instance A takes the lock for 300 ms, reads that the device is quiet, and is paused before it writes.
    const pause = pausePoint();
    let resultA: Awaited<ReturnType<typeof sweepOffline>> | undefined;
    let fenceA: string | null = null;
    const runA = runUnderLock(createLock(a.locks), { key: OFFLINE_SWEEP_LOCK_KEY, ttlMs: 300 })(
      async ({ fence }) => {
        fenceA = fence;
        resultA = await sweepOffline({
          alarms: a.alarms,
          lastSeen: async () => quietUntil,
          fence,
          now: now(),
          beforeTransition: pause.hold,
        });
      },
    ).catch(() => {
      // Its lease is gone: releasing may be refused. What matters is what it wrote.
    });
    await pause.reached;

    // Meanwhile the device comes back, A's lease runs out, and instance B takes the lock and sweeps.
    lastSeen = now();
    const runB = runUnderLock(createLock(b.locks), { key: OFFLINE_SWEEP_LOCK_KEY, ttlMs: 30_000 });
    const fenceB = await onceLockTaken(runB, async (fence) => {
      const result = await sweepOffline({
        alarms: b.alarms,
        lastSeen: async () => lastSeen,
        fence,
        now: now(),
      });
      expect(result).toMatchObject({ raised: 0, fenced: false });
    });
    expect(fenceB > fenceA!).toBe(true);

    // A wakes up with its stale evidence ("quiet since creation"): its raise is refused.
    pause.resume();
    await runA;
    expect(resultA).toMatchObject({ raised: 0, fenced: true });
    expect((await b.alarms.listAlarms("acme", { limit: 10 })).items).toEqual([]);
    expect(await b.alarms.getRule("acme", rule.id)).not.toBeNull();
  }, 60_000);
});
