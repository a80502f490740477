// The lock's safety stress idea (packages/lock/test/stress.test.ts) under injected faults: client clock
// skew within and far beyond TIME_TOLERANCE_MS (±5 s, ±60 s), a paused holder whose lock expires, and a
// Firestore emulator killed and restarted under the workers, on both time authorities.
//
// Client time (the lock spec's reference behaviour): each client judges expiry by its own clock, so a client
// whose clock runs ahead of the holder's by more than TIME_TOLERANCE_MS sees a live lock as expired and takes
// it while the holder still believes it holds it: two holders at once. The lock cannot prevent that; the
// fence catches it, because the thief's fence is higher and the holder's late write is rejected.
//
// Server time (the default, docs/adr/ADR-017-firestore-server-time.md): expiry is judged by Firestore's clock,
// so no client skew, of any size, lets a second holder in while the first one's lease is live. Here that is
// checked directly: zero overlaps of live holders, not only zero fence violations.

import {
  isTransientLockError,
  type LockBackend,
  type LockError,
  TIME_TOLERANCE_MS,
  type TimeAuthority,
} from "@firebrick/lock";
import { createFirestoreBackend, fencedWrite } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  freePort,
  type RunningEmulator,
  startFirestoreEmulator,
} from "../../packages/server/src/firestore/emulator.js";
import { emulatorClient, uniqueProjectId } from "../firestore.js";
import { scaled, until } from "./support.js";

const TTL_MS = 2000;
/** The skews of the issue: a few seconds and a minute either way, plus one just past ttl + tolerance. */
const SKEWS_MS = [0, 5000, -5000, 60_000, -60_000, Math.round((TIME_TOLERANCE_MS + TTL_MS) * 0.9)];

/**
 * The clock every simulated client shares; each client reads it with its own skew. Frozen: only advance()
 * moves it, so that the real milliseconds the calls take on a loaded machine cannot eat the margins a test
 * sets (a release 200 ms before expiry was reported expired when the calls before it took longer).
 */
class SharedClock {
  private readonly start = Date.now();
  private offset = 0;
  advance(ms: number): void {
    this.offset += ms;
  }
  client(skewMs: number): () => number {
    return () => this.start + this.offset + skewMs;
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

const client = (timeAuthority: TimeAuthority, now: () => number) =>
  createFirestoreBackend(db, { timeAuthority, now, logger: { warn() {} } });

describe("lock faults, client time: the fence never accepts an out-of-order write", () => {
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
      const holder = client("client", clock.client(holderSkew));
      const contender = client("client", clock.client(contenderSkew));
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
    const holder = client("client", clock.client(0));
    const thief = client("client", clock.client(TIME_TOLERANCE_MS + 500));
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
    const holder = client("client", clock.client(0));
    const next = client("client", clock.client(0));
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
});

describe("lock faults, server time: no client skew lets a second holder in while a lease is live", () => {
  it.each([0, 5000, -5000, 60_000, -60_000])(
    "a holder skewed by %i ms keeps its lock against contenders skewed by ±5 s and ±60 s until Firestore's clock passes expiry + tolerance",
    async (holderSkew) => {
      const key = `server-skew-${holderSkew}`;
      const ttlMs = 1000;
      const holder = client("server", () => Date.now() + holderSkew);
      const contenders = [-60_000, -5000, 5000, 60_000].map((skew) =>
        client("server", () => Date.now() + skew),
      );
      const requestedAt = performance.now();
      const held = await holder.acquire({ key, ttlMs });
      if (!held.ok) throw new Error("the first acquire must succeed");
      // On the holder's own clock, whatever its skew, the lease it is told about never outlasts the real one.
      expect(held.expiresAtMs).toBeLessThanOrEqual(Date.now() + holderSkew + ttlMs);
      for (const contender of contenders) {
        expect(await contender.acquire({ key, ttlMs })).toMatchObject({ ok: false, reason: "locked" });
        expect(await contender.isLocked({ key })).toBe(true);
      }
      // Real time has to pass; the contender whose clock is a minute behind (which on client time would wait
      // a minute more) takes the lock as soon as Firestore's clock says the lease and its tolerance are over.
      const laggard = contenders[0] as LockBackend;
      let next: Awaited<ReturnType<LockBackend["acquire"]>> | undefined;
      await vi.waitFor(
        async () => {
          next = await laggard.acquire({ key, ttlMs });
          expect(next.ok).toBe(true);
        },
        { timeout: 15_000, interval: 100 },
      );
      const takenAt = performance.now();
      // Zero overlap: the holder's own deadline (ttl after it asked, on its monotonic clock) came first.
      expect(takenAt).toBeGreaterThanOrEqual(requestedAt + ttlMs);
      if (!next?.ok) throw new Error("unreachable");
      expect(next.fence > held.fence).toBe(true);
      expect(await holder.release({ lockId: held.lockId })).toEqual({ ok: false });
      expect(await laggard.release({ lockId: next.lockId })).toEqual({ ok: true });
    },
    30_000,
  );

  it("a paused holder whose lease ran out on Firestore's clock: the next holder writes, the resumed holder's write is rejected", async () => {
    const key = "server-paused";
    const ttlMs = 500;
    const holder = client("server", () => Date.now() - 60_000);
    const next = client("server", () => Date.now() + 60_000);
    const held = await holder.acquire({ key, ttlMs });
    if (!held.ok) throw new Error("the first acquire must succeed");
    expect(await write(key, held.fence, "holder")).toEqual({ ok: true });
    // The holder stalls; the next acquirer gets in only once Firestore's clock is past the lease and tolerance.
    let taken: Awaited<ReturnType<LockBackend["acquire"]>> | undefined;
    await vi.waitFor(
      async () => {
        taken = await next.acquire({ key, ttlMs: TTL_MS });
        expect(taken.ok).toBe(true);
      },
      { timeout: 15_000, interval: 100 },
    );
    if (!taken?.ok) throw new Error("unreachable");
    expect(await write(key, taken.fence, "next")).toEqual({ ok: true });
    expect(await write(key, held.fence, "holder")).toMatchObject({ ok: false, reason: "stale-fence" });
    expect(await holder.extend({ lockId: held.lockId, ttlMs })).toMatchObject({ ok: false });
  }, 30_000);
});

/** A worker's lease as the test accounts for it: live until TTL after it asked, on the shared monotonic clock. */
interface Lease {
  worker: number;
  liveUntil: number;
  /** The emulator lifetime it was acquired in (the emulator forgets everything when killed). */
  life: number;
}

describe.each(["client", "server"] as const)(
  "lock faults, %s time, under an emulator kill and restart",
  (timeAuthority) => {
    it(`workers with clocks skewed by ±5 s and ±60 s keep their fenced writes in order${
      timeAuthority === "server" ? ", and never two live holders at once" : ""
    }`, async () => {
      const workers = scaled(6, 12);
      const rounds = scaled(8, 40);
      const keys = ["k0", "k1", "k2"].map((k) => `stress-${timeAuthority}-${k}`);
      const leases = new Map<string, Set<Lease>>(keys.map((key) => [key, new Set()]));
      let lifetime = 0;
      const outcome = {
        accepted: [0, 0],
        /** Attempts answered `locked`: the contention the overlap check is about. */
        locked: 0,
        rejectedStale: 0,
        liveOverlaps: [] as string[],
        transient: 0,
        outOfOrder: [] as string[],
      };
      let restarting: Promise<void> | null = null;

      async function worker(id: number) {
        const skew = SKEWS_MS[id % SKEWS_MS.length] as number;
        const backend = client(timeAuthority, () => Date.now() + skew);
        for (let round = 0; round < rounds; round++) {
          if (restarting) await restarting;
          const key = keys[(id + round) % keys.length] as string;
          const signal = AbortSignal.timeout(5000);
          try {
            const lifeAtStart = lifetime;
            const requestedAt = performance.now();
            const lock = await backend.acquire({ key, ttlMs: TTL_MS, signal });
            if (!lock.ok) {
              outcome.locked += 1;
              await new Promise((resolve) => setTimeout(resolve, 10));
              continue;
            }
            const life = lifetime;
            // An acquire that straddled the kill may have read one emulator and written the other: not counted.
            const counted = life === lifeAtStart;
            const lease: Lease = { worker: id, liveUntil: requestedAt + TTL_MS, life };
            if (counted) {
              const now = performance.now();
              for (const other of leases.get(key) ?? []) {
                if (other.life === life && other.liveUntil > now) {
                  outcome.liveOverlaps.push(
                    `${key}: worker ${id} (skew ${skew}) acquired ${Math.round(other.liveUntil - now)} ms before worker ${other.worker}'s lease ended`,
                  );
                }
              }
              leases.get(key)?.add(lease);
            }
            try {
              await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 30));
              const result = await fencedWrite(
                db,
                db.collection("resources").doc(key),
                lock.fence,
                (current) => ({
                  history: [...((current?.history as string[] | undefined) ?? []), lock.fence],
                }),
                { signal: AbortSignal.timeout(5000) },
              );
              if (result.ok && life === lifetime) outcome.accepted[life]! += 1;
              if (!result.ok) {
                if (result.currentFence > lock.fence) outcome.rejectedStale += 1;
                else outcome.outOfOrder.push(`${key}: ${lock.fence} rejected for ${result.currentFence}`);
              }
            } finally {
              leases.get(key)?.delete(lease); // no longer a holder once it lets go
              await backend
                .release({ lockId: lock.lockId, signal: AbortSignal.timeout(5000) })
                .catch(() => {});
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
          const history =
            ((await db.collection("resources").doc(key).get()).get("history") as string[]) ?? [];
          for (let i = 1; i < history.length; i++) {
            if (history[i]! < history[i - 1]!) found.push(`${key}: ${history[i - 1]} then ${history[i]}`);
          }
        }
        return found;
      };

      const running = Promise.all(Array.from({ length: workers }, (_, id) => worker(id)));
      // Let the first lifetime accept some writes, check its histories, then kill the emulator under the workers.
      await until(
        () => outcome.accepted[0]! >= workers || outcome.transient >= 1000,
        "accepted writes before the kill",
        120_000,
      );
      outcome.outOfOrder.push(...(await histories()));
      let resume = () => {};
      restarting = new Promise<void>((resolve) => {
        resume = resolve;
      });
      lifetime = 1;
      emulator.process.kill("SIGKILL");
      await new Promise((resolve) => emulator.process.once("exit", resolve));
      // Down from its exit until the new JVM answers (seconds): calls in flight fail as transient errors or
      // straddle the restart (which the fence must survive too), new rounds wait for it. No time is added:
      // the SDK's calls on a dead emulator need not fail within any given time, so none is waited for.
      emulator = await startFirestoreEmulator({ port });
      restarting = null;
      resume();
      await running;
      outcome.outOfOrder.push(...(await histories()));
      console.log(
        `lock faults (${timeAuthority} time):`,
        JSON.stringify({
          ...outcome,
          outOfOrder: outcome.outOfOrder.length,
          liveOverlaps: outcome.liveOverlaps.length,
        }),
      );

      expect(outcome.outOfOrder).toEqual([]);
      expect(outcome.accepted[0]).toBeGreaterThan(0);
      // The workers recovered by themselves on the restarted emulator (which starts empty: the emulator keeps
      // nothing across a kill, so lock documents, fence counters and the resource restart together).
      expect(outcome.accepted[1]).toBeGreaterThan(0);
      expect(outcome.locked).toBeGreaterThan(0);
      if (timeAuthority === "server") expect(outcome.liveOverlaps).toEqual([]);
    }, 240_000);
  },
);
