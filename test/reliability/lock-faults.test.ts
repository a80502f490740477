// The lock's safety stress idea (packages/lock/test/stress.test.ts) under injected faults: client clock
// skew within and beyond TIME_TOLERANCE_MS, a paused holder whose lock expires, and a Firestore emulator
// killed and restarted under the workers. The fenced resource (fencedWrite) must never accept a write out
// of fence order, whatever the lock itself got wrong.
//
// What skew beyond the tolerance does: the lock's time authority is the client (SPEC.md §2), so a client
// whose clock runs ahead of the holder's by more than TIME_TOLERANCE_MS sees a live lock as expired and
// takes it while the holder still believes it holds it: two holders at once. The lock cannot prevent that;
// the fence catches it, because the thief's fence is higher and the holder's late write is rejected.

import { isTransientLockError, type LockBackend, type LockError, TIME_TOLERANCE_MS } from "@firebrick/lock";
import { createFirestoreBackend, fencedWrite } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  type RunningEmulator,
  startFirestoreEmulator,
} from "../../packages/server/src/firestore/emulator.js";
import { emulatorClient, uniqueProjectId } from "../firestore.js";
import { scaled } from "./support.js";

const TTL_MS = 2000;

/** The wall clock every simulated client shares; each client reads it with its own skew. */
class SharedClock {
  private offset = 0;
  advance(ms: number): void {
    this.offset += ms;
  }
  client(skewMs: number): () => number {
    return () => Date.now() + this.offset + skewMs;
  }
}

let emulator: RunningEmulator;
let port: number;
let db: Firestore;
beforeAll(async () => {
  // An emulator of this file's own, on a fixed port, so that it can be killed and restarted under the workers.
  port = await freePort();
  emulator = await startFirestoreEmulator({ port });
  db = emulatorClient(uniqueProjectId("lock-faults"), `127.0.0.1:${port}`);
}, 60_000);
afterAll(async () => {
  await db?.terminate();
  await emulator?.stop();
});

const write = (key: string, fence: string, by: string) =>
  fencedWrite(db, db.collection("resources").doc(key), fence, (current) => ({
    by,
    history: [...((current?.history as string[] | undefined) ?? []), fence],
  }));

describe("lock faults: the fence never accepts an out-of-order write", () => {
  it.each([
    [0, 0],
    [0, TIME_TOLERANCE_MS - 1],
    [0, TIME_TOLERANCE_MS],
    [-400, 500],
    [700, -300],
    [-TIME_TOLERANCE_MS, 0],
  ])(
    "clock skew within the tolerance (holder %i ms, contender %i ms): the live lock is never taken over",
    async (holderSkew, contenderSkew) => {
      const clock = new SharedClock();
      const key = `within-${holderSkew}-${contenderSkew}`;
      const holder = createFirestoreBackend(db, { now: clock.client(holderSkew) });
      const contender = createFirestoreBackend(db, { now: clock.client(contenderSkew) });
      const held = await holder.acquire({ key, ttlMs: TTL_MS });
      expect(held.ok).toBe(true);
      if (!held.ok) return;
      // The holder still believes it holds the lock: its own clock says 200 ms are left (less the real
      // milliseconds the calls take).
      clock.advance(TTL_MS - 200);
      expect(await contender.acquire({ key, ttlMs: TTL_MS })).toMatchObject({ ok: false, reason: "locked" });
      expect(await write(key, held.fence, "holder")).toEqual({ ok: true });
      expect(await holder.release({ lockId: held.lockId })).toEqual({ ok: true });
    },
  );

  it("clock skew beyond the tolerance: two holders at once, and the fence rejects the displaced holder's late write", async () => {
    const clock = new SharedClock();
    const key = "beyond";
    const holder = createFirestoreBackend(db, { now: clock.client(0) });
    const thief = createFirestoreBackend(db, { now: clock.client(TIME_TOLERANCE_MS + 500) });
    const held = await holder.acquire({ key, ttlMs: TTL_MS });
    if (!held.ok) throw new Error("the first acquire must succeed");
    clock.advance(TTL_MS - 100); // the holder's own clock says it holds the lock for 100 ms more
    const stolen = await thief.acquire({ key, ttlMs: TTL_MS });
    if (!stolen.ok) throw new Error("skew beyond the tolerance must let the thief in: that is the fault");
    expect(stolen.fence > held.fence).toBe(true);
    expect(await write(key, stolen.fence, "thief")).toEqual({ ok: true });
    expect(await write(key, held.fence, "holder")).toEqual({
      ok: false,
      reason: "stale-fence",
      currentFence: stolen.fence,
    });
    const stored = (await db.collection("resources").doc(key).get()).data();
    expect(stored).toMatchObject({ by: "thief", history: [stolen.fence] });
    expect(await holder.release({ lockId: held.lockId })).toEqual({ ok: false });
  });

  it("a paused holder whose lock expired: the next holder writes, the resumed holder's write is rejected", async () => {
    const clock = new SharedClock();
    const key = "paused";
    const holder = createFirestoreBackend(db, { now: clock.client(0) });
    const next = createFirestoreBackend(db, { now: clock.client(0) });
    const held = await holder.acquire({ key, ttlMs: TTL_MS });
    if (!held.ok) throw new Error("the first acquire must succeed");
    expect(await write(key, held.fence, "holder")).toEqual({ ok: true });
    // The holder stalls (a GC pause, a stopped VM) past its TTL and the tolerance.
    clock.advance(TTL_MS + TIME_TOLERANCE_MS + 1);
    const taken = await next.acquire({ key, ttlMs: TTL_MS });
    if (!taken.ok) throw new Error("an expired lock must be acquirable");
    expect(await write(key, taken.fence, "next")).toEqual({ ok: true });
    // The holder wakes up and carries on as if it still held the lock.
    expect(await write(key, held.fence, "holder")).toMatchObject({ ok: false, reason: "stale-fence" });
    expect(await holder.extend({ lockId: held.lockId, ttlMs: TTL_MS })).toMatchObject({ ok: false });
    expect((await db.collection("resources").doc(key).get()).data()).toMatchObject({
      by: "next",
      history: [held.fence, taken.fence],
    });
  });

  it("workers with skewed clocks keep their fenced writes in order across an emulator kill and restart", async () => {
    const workers = scaled(6, 12);
    const rounds = scaled(8, 40);
    const keys = ["k0", "k1", "k2"].map((k) => `stress-${k}`);
    const holders = new Map<string, number>();
    let lifetime = 0;
    const outcome = {
      accepted: [0, 0],
      rejectedStale: 0,
      overlaps: 0,
      transient: 0,
      outOfOrder: [] as string[],
    };
    let restarting: Promise<void> | null = null;

    async function worker(id: number) {
      // Skews spread from well behind to well beyond the tolerance ahead; only the latter can overlap.
      const skew = Math.round(((id % 4) - 1) * (TIME_TOLERANCE_MS + TTL_MS) * 0.9);
      const backend: LockBackend = createFirestoreBackend(db, { now: () => Date.now() + skew });
      for (let round = 0; round < rounds; round++) {
        if (restarting) await restarting;
        const key = keys[(id + round) % keys.length]!;
        const signal = AbortSignal.timeout(5000);
        try {
          const lock = await backend.acquire({ key, ttlMs: TTL_MS, signal });
          if (!lock.ok) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            continue;
          }
          const life = lifetime;
          if ((holders.get(key) ?? 0) > 0) outcome.overlaps += 1;
          holders.set(key, (holders.get(key) ?? 0) + 1);
          try {
            await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 30));
            const result = await fencedWrite(
              db,
              db.collection("resources").doc(key),
              lock.fence,
              (current) => ({ history: [...((current?.history as string[] | undefined) ?? []), lock.fence] }),
              { signal: AbortSignal.timeout(5000) },
            );
            if (result.ok && life === lifetime) outcome.accepted[life]! += 1;
            if (!result.ok) {
              if (result.currentFence > lock.fence) outcome.rejectedStale += 1;
              else outcome.outOfOrder.push(`${key}: ${lock.fence} rejected for ${result.currentFence}`);
            }
          } finally {
            holders.set(key, (holders.get(key) ?? 1) - 1);
            await backend.release({ lockId: lock.lockId, signal: AbortSignal.timeout(5000) }).catch(() => {});
          }
        } catch (error) {
          outcome.transient += 1;
          if (isTransientLockError(error)) continue;
          // A call cut off by its own deadline while the emulator is down.
          if ((error as LockError).code === "Aborted") continue;
          // A transaction begun before the kill and committed after the restart: the new emulator has never
          // heard of it (INVALID_ARGUMENT "Transaction is invalid or closed"; Firestore itself would say
          // ABORTED). Nothing was written, which is all the fence property needs.
          if (lifetime === 1 && (error as LockError).code === "InvalidArgument") continue;
          throw error;
        }
      }
    }

    const histories = async () => {
      const found: string[] = [];
      for (const key of keys) {
        const history = ((await db.collection("resources").doc(key).get()).get("history") as string[]) ?? [];
        for (let i = 1; i < history.length; i++) {
          if (history[i]! < history[i - 1]!) found.push(`${key}: ${history[i - 1]} then ${history[i]}`);
        }
      }
      return found;
    };

    const running = Promise.all(Array.from({ length: workers }, (_, id) => worker(id)));
    // Let the first lifetime accept some writes, check its histories, then kill the emulator under the workers.
    while (outcome.accepted[0]! < workers && outcome.transient < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    outcome.outOfOrder.push(...(await histories()));
    let resume = () => {};
    restarting = new Promise<void>((resolve) => {
      resume = resolve;
    });
    emulator.process.kill("SIGKILL");
    await new Promise((resolve) => emulator.process.once("exit", resolve));
    lifetime = 1;
    // Calls in flight fail as transient errors (bounded by their signals); new rounds wait for the restart.
    await new Promise((resolve) => setTimeout(resolve, 500));
    emulator = await startFirestoreEmulator({ port });
    restarting = null;
    resume();
    await running;
    outcome.outOfOrder.push(...(await histories()));
    console.log("lock faults:", JSON.stringify({ ...outcome, outOfOrder: outcome.outOfOrder.length }));

    expect(outcome.outOfOrder).toEqual([]);
    expect(outcome.accepted[0]).toBeGreaterThan(0);
    // The workers recovered by themselves on the restarted emulator (which starts empty: the emulator keeps
    // nothing across a kill, so lock documents, fence counters and the resource restart together).
    expect(outcome.accepted[1]).toBeGreaterThan(0);
  }, 240_000);
});
