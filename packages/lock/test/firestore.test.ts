import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { emulatorClient, testFirestore } from "../../../test/firestore.js";
import { makeStorageKey } from "../src/common/crypto.js";
import {
  createFirestoreBackend,
  createFirestoreLockAdmin,
  createLock,
  fenceDocumentId,
  fencedWrite,
  lockDocumentId,
  mapFirestoreError,
} from "../src/firestore/index.js";
import { generateLockId, hashKey, LockError, createLock as lockOn, withTelemetry } from "../src/index.js";
import { expectLockError, freshKey, TestClock } from "./contract.js";

const db = testFirestore("lock-firestore");
afterAll(() => db.terminate());
const quiet = { warn() {} };

describe("Firestore backend configuration", () => {
  it.each([
    [{ collection: "locks", fenceCollection: "locks" }, /fenceCollection must be different from collection/],
    [{ collection: "" }, /non-empty/],
    [{ fenceCollection: "a/b" }, /not a document/],
    [{ collection: "__locks__" }, /invalid path segment/],
    [{ collection: "." }, /invalid path segment/],
    [{ collection: "a//b" }, /invalid path segment/],
    [{ concurrency: "eventual" as never }, /concurrency/],
    [{ timeAuthority: "ntp" as never }, /timeAuthority must be "server" or "client"/],
    [{ disposeTimeoutMs: 0 }, /disposeTimeoutMs/],
  ])("rejects %o with InvalidArgument at construction", (options, message) => {
    let error: unknown;
    try {
      createFirestoreBackend(db, options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).code).toBe("InvalidArgument");
    expect((error as LockError).message).toMatch(message);
  });

  it("rejects something that is not a Firestore client", () => {
    expect(() => createFirestoreBackend({} as never)).toThrow(LockError);
  });

  it("works in configured collections, including a subcollection path", async () => {
    const backend = createFirestoreBackend(db, {
      collection: "tenants/t1/app_locks",
      fenceCollection: "tenants/t1/app_fences",
    });
    const key = freshKey();
    const lock = await backend.acquire({ key, ttlMs: 10_000 });
    expect(lock.ok).toBe(true);
    expect((await db.doc(`tenants/t1/app_locks/${lockDocumentId(key)}`).get()).get("key")).toBe(key);
    expect((await db.doc(`tenants/t1/app_fences/${fenceDocumentId(key)}`).get()).get("fence")).toBe(
      "000000000000001",
    );
  });
});

describe("Firestore storage layout", () => {
  const backend = createFirestoreBackend(db, { logger: quiet });

  it("stores a key containing / as one document of the lock collection, the key kept in a field", async () => {
    const key = `a/b/${freshKey()}`;
    const lock = await backend.acquire({ key, ttlMs: 10_000 });
    if (!lock.ok) throw new Error("not acquired");
    const id = lockDocumentId(key);
    expect(id).not.toContain("/");
    const doc = await db.collection("locks").doc(id).get();
    expect(doc.data()).toEqual({
      lockId: lock.lockId,
      expiresAtMs: expect.any(Number),
      acquiredAtMs: expect.any(Number),
      key,
      fence: lock.fence,
    });
    expect(doc.get("expiresAtMs") - doc.get("acquiredAtMs")).toBe(10_000);
  });

  it("derives the fence document id in two steps from the lock document's storage key", () => {
    const key = "orders/42";
    const base = makeStorageKey("", key, 1500, 0);
    expect(lockDocumentId(key)).toBe(base);
    expect(fenceDocumentId(key)).toBe(makeStorageKey("", `fence:${base}`, 1500, 0));
    expect(fenceDocumentId(key)).not.toBe(lockDocumentId(key));
  });

  it("maps distinct keys to distinct, valid document ids", () => {
    const keys = [".", "..", "/", "//", "a", "a/", "__a__", "k", "kk", "\u0000", "𝄞".repeat(128)];
    const ids = keys.map(lockDocumentId);
    expect(new Set(ids).size).toBe(keys.length);
    for (const id of ids) {
      expect(id).not.toMatch(/\/|^\.{1,2}$|^__.*__$/);
      expect(Buffer.byteLength(id)).toBeLessThanOrEqual(1500);
    }
  });

  it("never deletes fence counters: release, force-release and cleanup leave them in place", async () => {
    const clock = new TestClock();
    const clocks = { now: clock.now, serverClock: clock.serverClock };
    const cleaning = createFirestoreBackend(db, { cleanupInIsLocked: true, ...clocks, logger: quiet });
    const admin = createFirestoreLockAdmin(db, clocks);
    const key = freshKey();
    const first = await cleaning.acquire({ key, ttlMs: 1000 });
    if (!first.ok) throw new Error("not acquired");
    await cleaning.release({ lockId: first.lockId });
    await cleaning.acquire({ key, ttlMs: 1000 });
    await admin.forceRelease({ key });
    await cleaning.acquire({ key, ttlMs: 1000 });
    clock.advance(5000);
    expect(await cleaning.isLocked({ key })).toBe(false);
    await vi.waitFor(async () => {
      expect((await db.collection("locks").doc(lockDocumentId(key)).get()).exists).toBe(false);
    });
    const counter = await db.collection("fence_counters").doc(fenceDocumentId(key)).get();
    expect(counter.data()).toEqual({ fence: "000000000000003", keyDebug: key });
  });

  it("leaves an expired lock document alone in isLocked unless cleanup is enabled", async () => {
    const clock = new TestClock();
    const pure = createFirestoreBackend(db, { now: clock.now, serverClock: clock.serverClock });
    const key = freshKey();
    await pure.acquire({ key, ttlMs: 1000 });
    clock.advance(5000);
    expect(await pure.isLocked({ key })).toBe(false);
    expect((await db.collection("locks").doc(lockDocumentId(key)).get()).exists).toBe(true);
  });
});

describe("Firestore duplicate lockId detection", () => {
  async function plantDuplicate(key: string, lockId: string, expiresAtMs: number) {
    await db
      .collection("locks")
      .doc(lockDocumentId(key))
      .set({ lockId, expiresAtMs, acquiredAtMs: Date.now(), key, fence: "000000000000001" });
  }

  it("warns and refuses to act when two live documents share a lockId", async () => {
    const warn = vi.fn();
    const backend = createFirestoreBackend(db, { logger: { warn } });
    const lockId = generateLockId();
    await plantDuplicate(freshKey(), lockId, Date.now() + 60_000);
    await plantDuplicate(freshKey(), lockId, Date.now() + 60_000);
    expect(await backend.release({ lockId })).toEqual({ ok: false });
    expect(await backend.extend({ lockId, ttlMs: 1000 })).toEqual({ ok: false });
    expect(await backend.lookup({ lockId })).toBeNull();
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("Duplicate"),
      expect.objectContaining({ count: 2 }),
    );
  });

  it("deletes the expired duplicate and operates on the single live one", async () => {
    const backend = createFirestoreBackend(db, { logger: quiet });
    const lockId = generateLockId();
    const live = freshKey();
    const stale = freshKey();
    await plantDuplicate(live, lockId, Date.now() + 60_000);
    await plantDuplicate(stale, lockId, Date.now() - 60_000);
    expect(await backend.release({ lockId })).toEqual({ ok: true });
    expect((await db.collection("locks").doc(lockDocumentId(stale)).get()).exists).toBe(false);
    expect(await backend.isLocked({ key: live })).toBe(false);
  });

  it.each(["server", "client"] as const)(
    "detects a planted live duplicate whichever instance is used, the acquiring one included (%s time)",
    async (timeAuthority) => {
      const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
      const logger = {
        warn: (message: string, details?: Record<string, unknown>) => warnings.push([message, details]),
      };
      const acquirer = createFirestoreBackend(db, { timeAuthority, logger });
      const otherDb = emulatorClient(db.projectId);
      onTestFinished(() => otherDb.terminate());
      const other = createFirestoreBackend(otherDb, { timeAuthority, logger });
      const key = freshKey();
      const lock = await acquirer.acquire({ key, ttlMs: 60_000 });
      if (!lock.ok) throw new Error("not acquired");
      const planted = freshKey();
      await plantDuplicate(planted, lock.lockId, Date.now() + 60_000);
      for (const backend of [acquirer, other]) {
        warnings.length = 0;
        expect(await backend.extend({ lockId: lock.lockId, ttlMs: 60_000 })).toEqual({ ok: false });
        expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: false });
        expect(await backend.lookup({ lockId: lock.lockId })).toBeNull();
        expect(warnings).toHaveLength(3);
        for (const [message, details] of warnings) {
          expect(message).toMatch(/Duplicate lock documents share one lockId/);
          expect(details).toMatchObject({ count: 2, live: 2, lockIdHash: hashKey(lock.lockId) });
        }
      }
      // Both documents are untouched; with the duplicate gone, the holder releases as usual.
      expect(await acquirer.isLocked({ key })).toBe(true);
      await db.collection("locks").doc(lockDocumentId(planted)).delete();
      expect(await acquirer.release({ lockId: lock.lockId })).toEqual({ ok: true });
      expect(await acquirer.isLocked({ key })).toBe(false);
    },
  );
});

describe("Firestore AbortSignal in flight", () => {
  it("aborts an acquire whose signal fires while its first read is under way, leaving no lock", async () => {
    const backend = createFirestoreBackend(db);
    const key = freshKey();
    const controller = new AbortController();
    const pending = backend.acquire({ key, ttlMs: 10_000, signal: controller.signal });
    controller.abort();
    await expectLockError(pending, "Aborted");
    expect(await backend.isLocked({ key })).toBe(false);
  });

  it("aborts release, extend, isLocked and lookup whose signal fires while they are under way", async () => {
    const backend = createFirestoreBackend(db);
    const key = freshKey();
    const lock = await backend.acquire({ key, ttlMs: 10_000 });
    if (!lock.ok) throw new Error("not acquired");
    const stored = async () => (await db.collection("locks").doc(lockDocumentId(key)).get()).data();
    const before = await stored();
    const inFlight = (start: (signal: AbortSignal) => Promise<unknown>) => {
      const controller = new AbortController();
      const pending = start(controller.signal);
      controller.abort();
      return pending;
    };
    await expectLockError(
      inFlight((signal) => backend.release({ lockId: lock.lockId, signal })),
      "Aborted",
    );
    await expectLockError(
      inFlight((signal) => backend.extend({ lockId: lock.lockId, ttlMs: 60_000, signal })),
      "Aborted",
    );
    await expectLockError(
      inFlight((signal) => backend.isLocked({ key, signal })),
      "Aborted",
    );
    await expectLockError(
      inFlight((signal) => backend.lookup({ lockId: lock.lockId, signal })),
      "Aborted",
    );
    // Nothing was written: the lock is still held with its original expiry.
    expect(await stored()).toEqual(before);
    expect(await backend.release({ lockId: lock.lockId })).toEqual({ ok: true });
  });
});

describe("lock() on Firestore", () => {
  it("runs the critical section with a fence that fencedWrite accepts, extending and then releasing", async () => {
    const backend = createFirestoreBackend(db);
    const lock = createLock(db);
    const key = freshKey();
    const ref = db.collection("resources").doc(freshKey().replaceAll(":", "-"));
    const outcome = await lock(
      async ({ fence, signal, extend }) => {
        expect((await extend()).ok).toBe(true);
        return fencedWrite(db, ref, fence, { owner: "me" }, { signal });
      },
      { key, ttlMs: 10_000, autoExtend: true },
    );
    expect(outcome).toEqual({ ok: true });
    expect(await backend.isLocked({ key })).toBe(false);
  });
});

describe("lock() on Firestore with server time and a skewed client clock", () => {
  it("keeps auto-extending a lock whose holder's clock is a minute behind, and no contender a minute ahead gets in", async () => {
    let extensions = 0;
    const behind = withTelemetry(createFirestoreBackend(db, { now: () => Date.now() - 60_000 }), (event) => {
      if (event.type === "extend" && event.result === "ok") extensions += 1;
    });
    const ahead = createFirestoreBackend(db, { now: () => Date.now() + 60_000 });
    const key = freshKey();
    const lost = await lockOn(behind)(
      async ({ signal }) => {
        // Several TTLs pass under the lock: the heartbeat (every ttl/3, on the monotonic clock) keeps it.
        await vi.waitFor(
          async () => {
            expect(await ahead.acquire({ key, ttlMs: 1200 })).toMatchObject({ ok: false, reason: "locked" });
            expect(extensions).toBeGreaterThanOrEqual(4);
          },
          { timeout: 20_000, interval: 200 },
        );
        return signal.aborted;
      },
      { key, ttlMs: 1200, autoExtend: true },
    );
    expect(lost).toBe(false);
    expect(await ahead.isLocked({ key })).toBe(false);
  }, 30_000);
});

describe("Firestore error mapping", () => {
  it.each([
    [1, "Aborted"],
    [3, "InvalidArgument"],
    [4, "NetworkTimeout"],
    [7, "AuthFailed"],
    [8, "RateLimited"],
    [9, "InvalidArgument"],
    [10, "ServiceUnavailable"],
    [13, "ServiceUnavailable"],
    [14, "ServiceUnavailable"],
    [16, "AuthFailed"],
    [2, "Internal"],
  ])("maps gRPC status %i to %s by code, whatever the message says", (code, expected) => {
    const error = Object.assign(new Error("UNAVAILABLE: permission denied, deadline exceeded"), { code });
    const mapped = mapFirestoreError(error);
    expect(mapped.code).toBe(expected);
    expect(mapped.cause).toBe(error);
  });

  it("maps a real emulator rejection (a write to an invalid path) to a LockError", async () => {
    const error = await fencedWrite(db, db.doc("a/b"), "000000000000001", { "": 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
  });
});

describe("fencedWrite", () => {
  it("accepts writes in fence order, accepts the same fence again, and rejects an older fence", async () => {
    const ref = db.collection("resources").doc(freshKey().replaceAll(/[:]/g, "-"));
    expect(await fencedWrite(db, ref, "000000000000002", { value: "b" })).toEqual({ ok: true });
    expect(await fencedWrite(db, ref, "000000000000002", { value: "b2" })).toEqual({ ok: true });
    expect(await fencedWrite(db, ref, "000000000000001", { value: "a" })).toEqual({
      ok: false,
      reason: "stale-fence",
      currentFence: "000000000000002",
    });
    expect(await fencedWrite(db, ref, "000000000000010", { value: "c" })).toEqual({ ok: true });
    expect((await ref.get()).data()).toEqual({ value: "c", _fence: "000000000000010" });
  });

  it("computes the new data from the current document inside the transaction", async () => {
    const ref = db.collection("resources").doc(freshKey().replaceAll(/[:]/g, "-"));
    for (const fence of ["000000000000001", "000000000000003"]) {
      await fencedWrite(db, ref, fence, (current) => ({ log: [...(current?.log ?? []), fence] }), {
        fenceField: "writerFence",
      });
    }
    expect((await ref.get()).data()).toEqual({
      log: ["000000000000001", "000000000000003"],
      writerFence: "000000000000003",
    });
  });

  it("rejects a malformed fence with InvalidArgument", async () => {
    await expectLockError(fencedWrite(db, db.doc("resources/x"), "12", {}), "InvalidArgument");
  });
});

describe("uses the unified liveness predicate", () => {
  it.each(["acquire.ts", "release.ts", "extend.ts", "is-locked.ts", "lookup.ts"])(
    "firestore/operations/%s imports isLive and TIME_TOLERANCE_MS from common/time-predicates",
    (file) => {
      const source = readFileSync(new URL(`../src/firestore/operations/${file}`, import.meta.url), "utf8");
      expect(source).toMatch(
        /import \{ isLive, TIME_TOLERANCE_MS \} from "\.\.\/\.\.\/common\/time-predicates\.js"/,
      );
      expect(source).toMatch(/isLive\(.*TIME_TOLERANCE_MS\)/);
    },
  );

  it("sqlite/backend.ts imports isLive from common/time-predicates", () => {
    const source = readFileSync(new URL("../src/sqlite/backend.ts", import.meta.url), "utf8");
    expect(source).toMatch(/from "\.\.\/common\/time-predicates\.js"/);
  });
});
