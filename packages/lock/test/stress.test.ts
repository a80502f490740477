import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../test/firestore.js";
import { createFirestoreBackend, fencedWrite } from "../src/firestore/index.js";
import { type BackendCapabilities, isTransientLockError, type LockBackend } from "../src/index.js";
import { createSqliteBackend } from "../src/sqlite/index.js";

/** How far ahead the faulty workers' clocks run: past ttl + tolerance, so they take over live locks. */
const SKEW_MS = 5000;
const TTL_MS = 2000;

const db = testFirestore("lock-stress");
const sqlite = new Database(":memory:");
afterAll(async () => {
  sqlite.close();
  await db.terminate();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  accepted: number;
  rejected: number;
  /** Acquisitions while another worker was still between its acquire and its release. */
  takeovers: number;
  /** Acquisitions while another holder's lease was live (less than TTL since it asked for the lock). */
  liveOverlaps: number;
  outOfOrder: string[];
}

/**
 * Workers contend for a handful of keys; each holder writes to the key's protected Firestore document
 * through `fencedWrite`, appending its fence to the document's history. Some workers run with a clock far
 * ahead (the fault): they see live locks as expired and take them over while their holders still work,
 * which breaks mutual exclusion. The fence must catch every such case: the accepted history of each
 * document must never go back in fence order.
 */
async function runStress(
  label: string,
  backendWithClock: (now: () => number) => LockBackend<BackendCapabilities>,
): Promise<Outcome> {
  const keys = ["a", "b", "c"].map((k) => `${label}-${k}`);
  const holders = new Map<string, number>();
  // Honest holders linger until a faulty worker has tried their key (or 300 ms pass), so that takeovers happen
  // on a slow emulator too, and the victim's write then races the thief's.
  const waiting = new Map<string, Array<() => void>>();
  const attempted = (key: string) => {
    for (const wake of waiting.get(key) ?? []) wake();
    waiting.delete(key);
  };
  const lingerUntilTried = (key: string) =>
    Promise.race([
      new Promise<void>((resolve) => waiting.set(key, [...(waiting.get(key) ?? []), resolve])),
      pause(300),
    ]);
  const outcome: Outcome = { accepted: 0, rejected: 0, takeovers: 0, liveOverlaps: 0, outOfOrder: [] };
  // When each current holder's lease ends by the shared monotonic clock, measured from its acquire request.
  const leases = new Map<string, Set<number>>();

  async function worker(id: number, skewed: boolean) {
    const backend = backendWithClock(skewed ? () => Date.now() + SKEW_MS : Date.now);
    for (let round = 0; round < 6; round++) {
      // A faulty worker waits for a key someone holds and goes for it, to make the fault bite.
      let held = keys.filter((k) => (holders.get(k) ?? 0) > 0);
      for (let waited = 0; skewed && held.length === 0 && waited < 200; waited++) {
        await pause(2);
        held = keys.filter((k) => (holders.get(k) ?? 0) > 0);
      }
      const key = skewed && held.length > 0 ? held[round % held.length]! : keys[(id + round) % keys.length]!;
      let lock: Awaited<ReturnType<typeof backend.acquire>>;
      const requestedAt = performance.now();
      try {
        lock = await backend.acquire({ key, ttlMs: TTL_MS });
      } catch (error) {
        if (skewed) attempted(key);
        if (isTransientLockError(error)) continue;
        throw error;
      }
      if (skewed) attempted(key);
      if (!lock.ok) {
        await pause(5);
        continue;
      }
      if ((holders.get(key) ?? 0) > 0) outcome.takeovers += 1;
      const now = performance.now();
      if ([...(leases.get(key) ?? [])].some((until) => until > now)) outcome.liveOverlaps += 1;
      const lease = requestedAt + TTL_MS;
      leases.set(key, (leases.get(key) ?? new Set()).add(lease));
      holders.set(key, (holders.get(key) ?? 0) + 1);
      try {
        if (!skewed) await lingerUntilTried(key);
        await pause(Math.random() * 20);
        const fence = lock.fence;
        const result = await fencedWrite(db, db.collection("stress").doc(key), fence, (current) => ({
          history: [...(current?.history ?? []), fence],
        })).catch((error: unknown) => {
          if (isTransientLockError(error)) return null;
          throw error;
        });
        if (result?.ok) outcome.accepted += 1;
        if (result && !result.ok) {
          outcome.rejected += 1;
          if (!(result.currentFence > fence))
            outcome.outOfOrder.push(`${key}: rejected ${fence} for ${result.currentFence}`);
        }
      } finally {
        leases.get(key)?.delete(lease);
        holders.set(key, (holders.get(key) ?? 1) - 1);
        await backend.release({ lockId: lock.lockId }).catch(() => {});
      }
    }
  }

  await Promise.all([0, 1, 2, 3, 4, 5].map((id) => worker(id, id >= 4)));

  for (const key of keys) {
    const history: string[] = (await db.collection("stress").doc(key).get()).get("history") ?? [];
    for (let i = 1; i < history.length; i++) {
      if (history[i]! < history[i - 1]!)
        outcome.outOfOrder.push(`${key}: ${history[i - 1]} then ${history[i]}`);
    }
  }
  console.log(`${label} stress:`, JSON.stringify({ ...outcome, outOfOrder: outcome.outOfOrder.length }));
  return outcome;
}

describe("lock safety under faults", () => {
  it("Firestore client-time locks: zero accepted writes out of fence order while skewed workers take over live locks", async () => {
    const outcome = await runStress("fs", (now) =>
      createFirestoreBackend(db, { now, timeAuthority: "client" }),
    );
    expect(outcome.outOfOrder).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.takeovers).toBeGreaterThan(0);
  }, 180_000);

  it("Firestore server-time locks: workers whose clocks run 5 s ahead never take over a live lock", async () => {
    const outcome = await runStress("fs-server", (now) => createFirestoreBackend(db, { now }));
    expect(outcome.outOfOrder).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.liveOverlaps).toBe(0);
  }, 180_000);

  it("SQLite locks: zero accepted writes out of fence order while skewed workers take over live locks", async () => {
    const outcome = await runStress("sq", (now) => createSqliteBackend(sqlite, { now }));
    expect(outcome.outOfOrder).toEqual([]);
    expect(outcome.accepted).toBeGreaterThan(0);
    expect(outcome.takeovers).toBeGreaterThan(0);
  }, 180_000);

  it("with client time: rejects the late write of a holder whose lock was taken over by a skewed clock", async () => {
    const honest = createFirestoreBackend(db, { timeAuthority: "client" });
    const skewed = createFirestoreBackend(db, { timeAuthority: "client", now: () => Date.now() + SKEW_MS });
    const ref = db.collection("stress").doc("takeover");
    const first = await honest.acquire({ key: "takeover", ttlMs: TTL_MS });
    const thief = await skewed.acquire({ key: "takeover", ttlMs: TTL_MS });
    if (!first.ok || !thief.ok) throw new Error("both acquires must succeed: that is the injected fault");
    expect(await fencedWrite(db, ref, thief.fence, { by: "thief" })).toEqual({ ok: true });
    expect(await fencedWrite(db, ref, first.fence, { by: "first" })).toEqual({
      ok: false,
      reason: "stale-fence",
      currentFence: thief.fence,
    });
    expect((await ref.get()).get("by")).toBe("thief");
    expect(await honest.release({ lockId: first.lockId })).toEqual({ ok: false });
  });

  it("with server time: a client whose clock runs far ahead finds the live lock held", async () => {
    const honest = createFirestoreBackend(db);
    const skewed = createFirestoreBackend(db, { now: () => Date.now() + 60 * SKEW_MS });
    const first = await honest.acquire({ key: "no-takeover", ttlMs: TTL_MS });
    if (!first.ok) throw new Error("not acquired");
    expect(await skewed.acquire({ key: "no-takeover", ttlMs: TTL_MS })).toMatchObject({
      ok: false,
      reason: "locked",
    });
    expect(await honest.release({ lockId: first.lockId })).toEqual({ ok: true });
  });
});
