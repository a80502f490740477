import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLock, type LockBackend } from "@firebrick/lock";
import { createFirestoreBackend } from "@firebrick/lock/firestore";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { createFirestoreAlarmsStore } from "../alarms/firestore.js";
import { judgeReadings } from "../alarms/judge.js";
import { createSqliteAlarmsStore } from "../alarms/sqlite.js";
import type { AlarmsStore } from "../alarms/types.js";
import { runUnderLock } from "../sessions/sweeper-lock.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { onceLockTaken, pausePoint } from "../testing/lock-holders.js";
import { DISPATCHER_LOCK_KEY, dispatchDue } from "./dispatcher.js";
import { createFirestoreWebhooksStore } from "./firestore.js";
import { httpSender, type Sender } from "./sender.js";
import { createSqliteWebhooksStore } from "./sqlite.js";
import { startReceiver } from "./testing/receiver.js";
import type { WebhooksStore } from "./types.js";

interface Instance {
  alarms: AlarmsStore;
  webhooks: WebhooksStore;
  locks: LockBackend;
}

/** Two instances on one database: each with its own connection (or client), its own lock handle. */
async function twoInstances(
  backend: "sqlite" | "firestore",
): Promise<{ a: Instance; b: Instance; close(): Promise<void> }> {
  if (backend === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "firebrick-webhook-fence-"));
    const [first, second] = [0, 1].map(() =>
      openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS),
    ) as [ReturnType<typeof openSqlite>, ReturnType<typeof openSqlite>];
    const instance = (db: typeof first): Instance => ({
      alarms: createSqliteAlarmsStore(db),
      webhooks: createSqliteWebhooksStore(db),
      locks: createSqliteBackend(db),
    });
    return {
      a: instance(first),
      b: instance(second),
      async close() {
        first.close();
        second.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = testFirestore("webhook-fence");
  const instance = (): Instance => ({
    alarms: createFirestoreAlarmsStore(db),
    webhooks: createFirestoreWebhooksStore(db),
    locks: createFirestoreBackend(db),
  });
  return { a: instance(), b: instance(), close: () => db.terminate() };
}

describe.each(["sqlite", "firestore"] as const)("the webhook dispatcher is fenced (%s)", (backend) => {
  let close: (() => Promise<void>) | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterAll(async () => {
    await receiver?.close();
    await close?.();
  });

  it("a holder paused past its lease wakes up and cannot overwrite the newer holder's recorded attempt", async () => {
    const instances = await twoInstances(backend);
    close = instances.close;
    const { a, b } = instances;
    receiver = await startReceiver();
    const tenant = "acme";
    const webhook = await a.webhooks.create(
      tenant,
      { url: receiver.url("/hook"), description: null, severities: null },
      "s3cret",
      null,
    );
    receiver.secret("/hook", "s3cret");
    const rule = await a.alarms.createRule(
      tenant,
      {
        kind: "threshold",
        device_id: "0b7e7a5c-7a0e-4f3e-9a55-3a1d2b7c9d10",
        metric: "t",
        op: ">",
        threshold: 0,
        for_ms: 0,
        severity: "major",
      },
      null,
    );
    await a.alarms.evaluate(tenant, rule.id, (stored, state) =>
      judgeReadings(stored, state, [{ timestamp_ms: Date.now(), value: 1 }]),
    );
    const send: Sender = httpSender({ allowPrivate: true, timeoutMs: 5_000 });
    // A's receiver "failed" (it saw a 503): A would record a retry. B's attempt succeeds.
    const failing: Sender = async (url, body, headers) => {
      await send(url, body, headers);
      return { status: 503, durationMs: 1 };
    };

    // Instance A takes the lock for 300 ms, sends, and is paused before it records the outcome.
    const pause = pausePoint();
    let resultA: Awaited<ReturnType<typeof dispatchDue>> | undefined;
    let fenceA: string | null = null;
    const runA = runUnderLock(createLock(a.locks), { key: DISPATCHER_LOCK_KEY, ttlMs: 300 })(
      async ({ fence }) => {
        fenceA = fence;
        resultA = await dispatchDue({
          webhooks: a.webhooks,
          send: failing,
          fence,
          clock: Date.now,
          beforeRecord: pause.hold,
        });
      },
    ).catch(() => {
      // Its lease is gone: releasing may be refused. What matters is what it wrote.
    });
    await pause.reached;

    // A's lease runs out; instance B takes the lock, sends the same delivery again and records it delivered.
    const runB = runUnderLock(createLock(b.locks), { key: DISPATCHER_LOCK_KEY, ttlMs: 30_000 });
    const fenceB = await onceLockTaken(runB, async (fence) => {
      const result = await dispatchDue({ webhooks: b.webhooks, send, fence, clock: Date.now });
      expect(result).toMatchObject({ recorded: 1, delivered: 1, fenced: false });
    });
    expect(fenceB > fenceA!).toBe(true);

    // A wakes up with its stale outcome ("503, retry later"): refused, B's "delivered" stands.
    pause.resume();
    await runA;
    expect(resultA).toMatchObject({ recorded: 0, fenced: true });
    const attempts = await b.webhooks.attempts(tenant, webhook!.id, { limit: 10 });
    expect(attempts.items.map((attempt) => [attempt.attempt, attempt.status_code, attempt.state])).toEqual([
      [1, 204, "delivered"],
    ]);
    expect((await b.webhooks.pending(10)).length).toBe(0);
    // At least once: the receiver saw the delivery twice, with one id and one body.
    expect(receiver.received).toHaveLength(2);
    expect([...receiver.bodiesById().values()].map((bodies) => bodies.size)).toEqual([1]);
  }, 60_000);
});
