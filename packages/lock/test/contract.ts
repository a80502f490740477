import { describe, expect, it, vi } from "vitest";
import type {
  BackendCapabilities,
  LockAdmin,
  LockBackend,
  LockLogger,
  TimeAuthority,
} from "../src/common/types.js";
import { generateLockId, hashKey, LockError, type LockErrorCode } from "../src/index.js";

/**
 * A clock the test moves by hand. Client-time backends read `now` instead of `Date.now`; server-time
 * backends judge by `serverClock`, which stands in for Firestore's clock (it cannot be moved) and checks that
 * the backend did hand it a real read time.
 */
export class TestClock {
  private value = Date.now();
  readonly now = (): number => this.value;
  readonly serverClock = (readTimeMs: number): number => {
    if (!Number.isFinite(readTimeMs) || readTimeMs <= 0) {
      throw new Error(`the backend judged without a Firestore read time (got ${readTimeMs})`);
    }
    return this.value;
  };
  advance(ms: number): void {
    this.value += ms;
  }
  reset(): void {
    this.value = Date.now();
  }
}

export interface BackendOverrides {
  /** This client's own clock (with server time it only changes how times are expressed to it). */
  now?: () => number;
  logger?: LockLogger;
}

/** What the contract needs from a backend under test. */
export interface ContractSubject {
  clock: TestClock;
  /** Whose clock the backend under test judges expiry by. */
  timeAuthority: TimeAuthority;
  backend: LockBackend<BackendCapabilities>;
  admin: LockAdmin<BackendCapabilities>;
  /** Another backend on the same storage, as a second process (or the same one after a restart) sees it. */
  open(overrides?: BackendOverrides): Promise<LockBackend<BackendCapabilities>>;
  /** Sets the stored fence counter of a key, to reach the overflow thresholds without 10^14 acquires. */
  seedFence(key: string, fence: string): Promise<void>;
}

let sequence = 0;
/** A key no other test uses (tests in a file share one storage). */
export function freshKey(label = "k"): string {
  sequence += 1;
  return `${label}:${sequence}:${Math.random().toString(36).slice(2, 8)}`;
}

export async function expectLockError(promise: Promise<unknown>, code: LockErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LockError);
  expect((error as LockError).code).toBe(code);
}

/**
 * The behaviour every lock backend must have, run against each one (Lucia-style adapter tests). Time is
 * driven by `TestClock`, never by sleeping.
 */
export function describeLockBackendContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`${name} lock backend contract`, () => {
    let subject: ContractSubject;
    let backend: LockBackend<BackendCapabilities>;
    let clock: TestClock;
    const ensure = async () => {
      subject ??= await setup();
      backend = subject.backend;
      clock = subject.clock;
      clock.reset();
    };

    describe("lifecycle", () => {
      it("acquires a free key with a lockId, a 15-digit fence and an expiry of now + ttl", async () => {
        await ensure();
        const key = freshKey();
        const result = await backend.acquire({ key, ttlMs: 30_000 });
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.lockId).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(result.fence).toMatch(/^\d{15}$/);
        expect(result.expiresAtMs).toBe(clock.now() + 30_000);
        expect(await backend.isLocked({ key })).toBe(true);
      });

      it("releases a held lock once; a second release answers ok: false", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: true });
        expect(await backend.isLocked({ key })).toBe(false);
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: false });
        expect((await backend.acquire({ key, ttlMs: 1000 })).ok).toBe(true);
      });

      it("answers locked to a second acquirer while the lock is held", async () => {
        await ensure();
        const key = freshKey();
        expect((await backend.acquire({ key, ttlMs: 30_000 })).ok).toBe(true);
        expect(await backend.acquire({ key, ttlMs: 30_000 })).toMatchObject({ ok: false, reason: "locked" });
      });

      it("releases at the end of an `await using` block", async () => {
        await ensure();
        const key = freshKey();
        {
          await using lock = await backend.acquire({ key, ttlMs: 30_000 });
          expect(lock.ok).toBe(true);
          expect(await backend.isLocked({ key })).toBe(true);
        }
        expect(await backend.isLocked({ key })).toBe(false);
      });

      it("releases and extends through the handle", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 10_000 });
        if (!lock.ok) throw new Error("not acquired");
        clock.advance(1000);
        expect(await lock.extend(20_000)).toEqual({ ok: true, expiresAtMs: clock.now() + 20_000 });
        expect(await lock.release()).toEqual({ ok: true });
        expect(await backend.isLocked({ key })).toBe(false);
      });

      it("lets another process release and extend a lock by its lockId alone", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 10_000 });
        if (!lock.ok) throw new Error("not acquired");
        const other = await subject.open({ now: clock.now });
        expect(await other.extend({ lockId: lock.lockId, ttlMs: 20_000 })).toEqual({
          ok: true,
          expiresAtMs: clock.now() + 20_000,
        });
        expect((await other.lookup({ lockId: lock.lockId }))?.fence).toBe(lock.fence);
        expect(await other.release({ lockId: lock.lockId })).toEqual({ ok: true });
        expect(await backend.isLocked({ key })).toBe(false);
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: false });
      });

      it("declares its capabilities: fencing, and whose clock decides expiry", async () => {
        await ensure();
        expect(backend.capabilities).toMatchObject({
          supportsFencing: true,
          timeAuthority: subject.timeAuthority,
        });
      });
    });

    describe("contention", () => {
      it("lets exactly one of several concurrent acquirers win", async () => {
        await ensure();
        const key = freshKey("race");
        const others = await Promise.all([1, 2, 3].map(() => subject.open({ now: clock.now })));
        const contenders = [backend, ...others, backend];
        const results = await Promise.allSettled(contenders.map((b) => b.acquire({ key, ttlMs: 30_000 })));
        const winners = results.filter((r) => r.status === "fulfilled" && r.value.ok);
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (r.status === "fulfilled" && !r.value.ok) expect(r.value.reason).toBe("locked");
          // Under heavy contention Firestore may give up a transaction; that is a retryable error, not a winner.
          if (r.status === "rejected") expect((r.reason as LockError).code).toBe("ServiceUnavailable");
        }
      }, 60_000);
    });

    describe("expiry and tolerance", () => {
      it("keeps a lock live until TIME_TOLERANCE_MS past its expiry, then lets another acquire it", async () => {
        await ensure();
        const key = freshKey();
        const first = await backend.acquire({ key, ttlMs: 1000 });
        if (!first.ok) throw new Error("not acquired");
        clock.advance(1000 + 999);
        expect(await backend.isLocked({ key })).toBe(true);
        expect((await backend.acquire({ key, ttlMs: 1000 })).ok).toBe(false);
        clock.advance(1);
        expect(await backend.isLocked({ key })).toBe(false);
        expect(await backend.lookup({ key })).toBeNull();
        const second = await backend.acquire({ key, ttlMs: 1000 });
        expect(second.ok).toBe(true);
        if (second.ok) expect(second.fence > first.fence).toBe(true);
      });

      it("refuses to release an expired lock", async () => {
        await ensure();
        const lock = await backend.acquire({ key: freshKey(), ttlMs: 500 });
        if (!lock.ok) throw new Error("not acquired");
        clock.advance(1500);
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: false });
      });

      it("with client time: treats a lock as expired for a client whose clock runs past the tolerance", async () => {
        await ensure();
        if (subject.timeAuthority !== "client") return;
        const key = freshKey();
        expect((await backend.acquire({ key, ttlMs: 2000 })).ok).toBe(true);
        const ahead = await subject.open({ now: () => clock.now() + 2999 });
        expect(await ahead.isLocked({ key })).toBe(true);
        const farAhead = await subject.open({ now: () => clock.now() + 3000 });
        expect(await farAhead.isLocked({ key })).toBe(false);
      });

      it("with server time: ignores client clocks ±60 s off, and gives each client the expiry on its own clock", async () => {
        await ensure();
        if (subject.timeAuthority !== "server") return;
        const key = freshKey();
        const held = await backend.acquire({ key, ttlMs: 2000 });
        if (!held.ok) throw new Error("not acquired");
        for (const skew of [-60_000, -5000, 5000, 60_000]) {
          const skewed = await subject.open({ now: () => clock.now() + skew });
          expect(await skewed.isLocked({ key })).toBe(true);
          expect(await skewed.acquire({ key, ttlMs: 2000 })).toMatchObject({ ok: false, reason: "locked" });
          expect((await skewed.lookup({ key }))?.expiresAtMs).toBe(held.expiresAtMs + skew);
        }
        clock.advance(2000 + 999);
        const farAhead = await subject.open({ now: () => clock.now() + 60_000 });
        expect(await farAhead.isLocked({ key })).toBe(true);
        clock.advance(1);
        const farBehind = await subject.open({ now: () => clock.now() - 60_000 });
        expect(await farBehind.isLocked({ key })).toBe(false);
        const next = await farBehind.acquire({ key, ttlMs: 2000 });
        expect(next.ok && next.expiresAtMs).toBe(clock.now() - 60_000 + 2000);
      });
    });

    describe("extend", () => {
      it("resets the TTL to ttlMs from now instead of adding to it", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 10_000 });
        if (!lock.ok) throw new Error("not acquired");
        clock.advance(2000);
        const extended = await backend.extend({ lockId: lock.lockId, ttlMs: 5000 });
        expect(extended).toEqual({ ok: true, expiresAtMs: clock.now() + 5000 });
        expect((await backend.lookup({ key }))?.expiresAtMs).toBe(clock.now() + 5000);
      });

      it("keeps a lock alive past its original expiry", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 1000 });
        if (!lock.ok) throw new Error("not acquired");
        clock.advance(800);
        expect((await backend.extend({ lockId: lock.lockId, ttlMs: 1000 })).ok).toBe(true);
        clock.advance(1500);
        expect(await backend.isLocked({ key })).toBe(true);
      });

      it("refuses to extend once the lock has expired", async () => {
        await ensure();
        const lock = await backend.acquire({ key: freshKey(), ttlMs: 1000 });
        if (!lock.ok) throw new Error("not acquired");
        clock.advance(2000);
        expect(await backend.extend({ lockId: lock.lockId, ttlMs: 10_000 })).toEqual({ ok: false });
      });

      it("refuses to extend a released lock", async () => {
        await ensure();
        const lock = await backend.acquire({ key: freshKey(), ttlMs: 1000 });
        if (!lock.ok) throw new Error("not acquired");
        await backend.release({ lockId: lock.lockId });
        expect(await backend.extend({ lockId: lock.lockId, ttlMs: 1000 })).toEqual({ ok: false });
      });
    });

    describe("ownership", () => {
      it("does not let a foreign lockId release or extend a held lock", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        const foreign = generateLockId();
        expect(await backend.release({ lockId: foreign })).toEqual({ ok: false });
        expect(await backend.extend({ lockId: foreign, ttlMs: 60_000 })).toEqual({ ok: false });
        expect((await backend.lookup({ key }))?.expiresAtMs).toBe(lock.expiresAtMs);
        expect(await backend.isLocked({ key })).toBe(true);
      });

      it("does not let a previous holder's lockId release the next holder's lock", async () => {
        await ensure();
        const key = freshKey();
        const old = await backend.acquire({ key, ttlMs: 1000 });
        if (!old.ok) throw new Error("not acquired");
        clock.advance(2000);
        const current = await backend.acquire({ key, ttlMs: 30_000 });
        expect(current.ok).toBe(true);
        expect(await backend.release({ lockId: old.lockId })).toEqual({ ok: false });
        expect(await backend.extend({ lockId: old.lockId, ttlMs: 1000 })).toEqual({ ok: false });
        expect(await backend.isLocked({ key })).toBe(true);
      });
    });

    describe("fences", () => {
      it("increase strictly across release, expiry and a restart", async () => {
        await ensure();
        const key = freshKey();
        const fences: string[] = [];
        const a = await backend.acquire({ key, ttlMs: 1000 });
        if (!a.ok) throw new Error("not acquired");
        fences.push(a.fence);
        await backend.release({ lockId: a.lockId });
        const b = await backend.acquire({ key, ttlMs: 1000 });
        if (!b.ok) throw new Error("not acquired");
        fences.push(b.fence);
        clock.advance(5000);
        const c = await backend.acquire({ key, ttlMs: 1000 });
        if (!c.ok) throw new Error("not acquired");
        fences.push(c.fence);
        await backend.release({ lockId: c.lockId });
        const restarted = await subject.open({ now: clock.now });
        const d = await restarted.acquire({ key, ttlMs: 1000 });
        if (!d.ok) throw new Error("not acquired");
        fences.push(d.fence);
        expect([...fences].sort()).toEqual(fences);
        expect(new Set(fences).size).toBe(4);
        expect(fences.map((f) => BigInt(f))).toEqual(fences.map((_, i) => BigInt(fences[0]!) + BigInt(i)));
      });

      it("starts at 000000000000001 and are counted per key", async () => {
        await ensure();
        const first = await backend.acquire({ key: freshKey(), ttlMs: 1000 });
        const other = await backend.acquire({ key: freshKey(), ttlMs: 1000 });
        expect(first.ok && first.fence).toBe("000000000000001");
        expect(other.ok && other.fence).toBe("000000000000001");
      });

      it("fails with Internal past the maximum fence and hands out nothing", async () => {
        await ensure();
        const key = freshKey();
        await subject.seedFence(key, "900000000000000");
        await expectLockError(backend.acquire({ key, ttlMs: 1000 }), "Internal");
        expect(await backend.isLocked({ key })).toBe(false);
      });

      it("warns past the warning threshold and still acquires", async () => {
        await ensure();
        const key = freshKey();
        const warn = vi.fn();
        const watched = await subject.open({ now: clock.now, logger: { warn } });
        await subject.seedFence(key, "090000000000000");
        const lock = await watched.acquire({ key, ttlMs: 1000 });
        expect(lock.ok && lock.fence).toBe("090000000000001");
        expect(warn).toHaveBeenCalledWith(expect.stringContaining("warning threshold"), expect.anything());
      });
    });

    describe("lookup", () => {
      it("finds a live lock by key and by lockId, with hashes instead of raw identifiers", async () => {
        await ensure();
        const key = freshKey("secret-key");
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        const expected = {
          keyHash: hashKey(key),
          lockIdHash: hashKey(lock.lockId),
          expiresAtMs: lock.expiresAtMs,
          acquiredAtMs: clock.now(),
          fence: lock.fence,
        };
        const byKey = await backend.lookup({ key });
        const byLockId = await backend.lookup({ lockId: lock.lockId });
        expect(byKey).toEqual(expected);
        expect(byLockId).toEqual(expected);
        expect(JSON.stringify(byKey)).not.toContain(lock.lockId);
        expect(JSON.stringify(byKey)).not.toContain("secret-key");
      });

      it("returns null for an unknown lockId, a released lock and an expired one", async () => {
        await ensure();
        expect(await backend.lookup({ lockId: generateLockId() })).toBeNull();
        expect(await backend.lookup({ key: freshKey() })).toBeNull();
        const released = await backend.acquire({ key: freshKey(), ttlMs: 30_000 });
        if (!released.ok) throw new Error("not acquired");
        await backend.release({ lockId: released.lockId });
        expect(await backend.lookup({ lockId: released.lockId })).toBeNull();
        const expired = await backend.acquire({ key: freshKey(), ttlMs: 100 });
        if (!expired.ok) throw new Error("not acquired");
        clock.advance(1100);
        expect(await backend.lookup({ lockId: expired.lockId })).toBeNull();
      });
    });

    describe("AbortSignal", () => {
      it("rejects every operation with Aborted when the signal has fired", async () => {
        await ensure();
        const key = freshKey();
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        const signal = AbortSignal.abort();
        await expectLockError(backend.acquire({ key: freshKey(), ttlMs: 1000, signal }), "Aborted");
        await expectLockError(backend.release({ lockId: lock.lockId, signal }), "Aborted");
        await expectLockError(backend.extend({ lockId: lock.lockId, ttlMs: 1000, signal }), "Aborted");
        await expectLockError(backend.isLocked({ key, signal }), "Aborted");
        await expectLockError(backend.lookup({ key, signal }), "Aborted");
        await expectLockError(backend.lookup({ lockId: lock.lockId, signal }), "Aborted");
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: true });
      });
    });

    describe("invalid input", () => {
      it("rejects empty, over-long and non-string keys with InvalidArgument", async () => {
        await ensure();
        for (const key of ["", "x".repeat(513), "é".repeat(257), 42 as unknown as string]) {
          await expectLockError(backend.acquire({ key, ttlMs: 1000 }), "InvalidArgument");
          await expectLockError(backend.isLocked({ key }), "InvalidArgument");
          await expectLockError(backend.lookup({ key }), "InvalidArgument");
        }
      });

      it("rejects malformed lockIds with InvalidArgument", async () => {
        await ensure();
        for (const lockId of [
          "",
          "short",
          `${"a".repeat(22)}b`,
          "a+bcdefghijklmnopqrstu",
          "a/bcdefghijklmnopqrstu",
        ]) {
          await expectLockError(backend.release({ lockId }), "InvalidArgument");
          await expectLockError(backend.extend({ lockId, ttlMs: 1000 }), "InvalidArgument");
          await expectLockError(backend.lookup({ lockId }), "InvalidArgument");
        }
      });

      it("rejects TTLs that are not positive whole milliseconds with InvalidArgument", async () => {
        await ensure();
        for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1000" as unknown as number]) {
          await expectLockError(backend.acquire({ key: freshKey(), ttlMs }), "InvalidArgument");
          await expectLockError(backend.extend({ lockId: generateLockId(), ttlMs }), "InvalidArgument");
        }
      });
    });

    describe("keys", () => {
      it("treats NFC and NFD spellings of a key as one lock", async () => {
        await ensure();
        const suffix = freshKey();
        const nfc = `café-${suffix}`.normalize("NFC");
        const nfd = `café-${suffix}`.normalize("NFD");
        expect(nfc).not.toBe(nfd);
        expect((await backend.acquire({ key: nfc, ttlMs: 30_000 })).ok).toBe(true);
        expect((await backend.acquire({ key: nfd, ttlMs: 30_000 })).ok).toBe(false);
        expect(await backend.isLocked({ key: nfd })).toBe(true);
      });

      it("accepts a key of exactly 512 UTF-8 bytes in every operation", async () => {
        await ensure();
        const key = `${"𝄞".repeat(127)}${freshKey().slice(0, 4).padEnd(4, "x")}`;
        expect(Buffer.byteLength(key)).toBe(512);
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        expect(await backend.isLocked({ key })).toBe(true);
        expect((await backend.lookup({ key }))?.fence).toBe(lock.fence);
        expect((await backend.extend({ lockId: lock.lockId, ttlMs: 30_000 })).ok).toBe(true);
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: true });
      });

      it("handles keys with /, ., .., reserved-looking and Unicode forms as distinct, working locks", async () => {
        await ensure();
        const tag = freshKey("");
        const keys = [
          ".",
          "..",
          "/",
          "a/b",
          "a/b/c",
          "/leading",
          "trailing/",
          "__name__",
          "日本語🔒",
          "a.b",
          "k",
        ].map((k) => (k === "." || k === ".." || k === "/" ? k : `${k}${tag}`));
        // ".", "..", "/" are exact keys; only one test may own them, so free them first.
        for (const key of [".", "..", "/"]) await subject.admin.forceRelease({ key });
        const locks = await Promise.all(keys.map((key) => backend.acquire({ key, ttlMs: 30_000 })));
        expect(locks.map((l) => l.ok)).toEqual(keys.map(() => true));
        for (const [i, key] of keys.entries()) {
          const lock = locks[i]!;
          if (!lock.ok) continue;
          expect(await backend.isLocked({ key })).toBe(true);
          expect((await backend.lookup({ lockId: lock.lockId }))?.keyHash).toBe(hashKey(key));
          expect((await backend.extend({ lockId: lock.lockId, ttlMs: 30_000 })).ok).toBe(true);
          expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: true });
          expect(await backend.isLocked({ key })).toBe(false);
        }
      }, 60_000);
    });

    describe("operator view", () => {
      it("lists live locks with their raw keys and never their lockIds", async () => {
        await ensure();
        const key = freshKey("listed");
        const lock = await backend.acquire({ key, ttlMs: 30_000 });
        if (!lock.ok) throw new Error("not acquired");
        const expired = freshKey("expired");
        await backend.acquire({ key: expired, ttlMs: 1 });
        clock.advance(1500);
        const listed = await subject.admin.list({ limit: 1000 });
        const entry = listed.find((l) => l.key === key);
        expect(entry).toMatchObject({ key, fence: lock.fence, lockIdHash: hashKey(lock.lockId) });
        expect(listed.some((l) => l.key === expired)).toBe(false);
        expect(JSON.stringify(listed)).not.toContain(lock.lockId);
        expect(await subject.admin.inspect({ key })).toEqual(entry);
      });

      it("force-releases a key so the next holder gets a higher fence and the evicted lockId is dead", async () => {
        await ensure();
        const key = freshKey();
        const evicted = await backend.acquire({ key, ttlMs: 30_000 });
        if (!evicted.ok) throw new Error("not acquired");
        expect(await subject.admin.forceRelease({ key })).toEqual({ ok: true });
        expect(await subject.admin.forceRelease({ key })).toEqual({ ok: false });
        const next = await backend.acquire({ key, ttlMs: 30_000 });
        if (!next.ok) throw new Error("not acquired");
        expect(next.fence > evicted.fence).toBe(true);
        expect(await backend.release({ lockId: evicted.lockId })).toEqual({ ok: false });
        expect(await backend.extend({ lockId: evicted.lockId, ttlMs: 1000 })).toEqual({ ok: false });
      });
    });
  });
}
