// One test per public function and constant of SyncGuard's root (`syncguard` → `@firebrick/lock`) that the
// other files of this folder do not cover, and its InvalidArgument wording on both of our backends.

import * as root from "@firebrick/lock";
import {
  BACKEND_DEFAULTS,
  BACKEND_LIMITS,
  type BackendCapabilities,
  FENCE_THRESHOLDS,
  generateLockId,
  getById,
  getByIdRaw,
  getByKey,
  getByKeyRaw,
  hasFence,
  hashKey,
  isLive,
  LOCK_DEFAULTS,
  type LockBackend,
  LockError,
  MAX_KEY_LENGTH_BYTES,
  normalizeAndValidateKey,
  owns,
  RESERVE_BYTES,
  sanitizeLockInfo,
  TIME_TOLERANCE_MS,
  validateLockId,
} from "@firebrick/lock";
import { attachRawData, checkAborted } from "@firebrick/lock/common";
import { createFirestoreBackend } from "@firebrick/lock/firestore";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it, vi } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";

const noFencing: BackendCapabilities = { supportsFencing: false, timeAuthority: "client" };
const fencing: BackendCapabilities & { supportsFencing: true } = {
  supportsFencing: true,
  timeAuthority: "server",
};

describe("the root export list", () => {
  it("has every name of SyncGuard's root this library implements, and none of its internals", () => {
    const values = [
      "acquireHandle",
      "decorateAcquireResult",
      "BACKEND_DEFAULTS",
      "BACKEND_LIMITS",
      "FENCE_THRESHOLDS",
      "LOCK_DEFAULTS",
      "MAX_KEY_LENGTH_BYTES",
      "RESERVE_BYTES",
      "LockError",
      "normalizeAndValidateKey",
      "validateLockId",
      "generateLockId",
      "hashKey",
      "lock",
      "getById",
      "getByIdRaw",
      "getByKey",
      "getByKeyRaw",
      "hasFence",
      "owns",
      "sanitizeLockInfo",
      "withTelemetry",
      "isLive",
      "TIME_TOLERANCE_MS",
    ];
    for (const name of values) expect(root, name).toHaveProperty(name);
    for (const internal of [
      "checkAborted",
      "makeStorageKey",
      "abortableDelay",
      "formatFence",
      "toAcquireHandle",
    ]) {
      expect(root, internal).not.toHaveProperty(internal);
    }
  });
});

describe("constants", () => {
  it("match SyncGuard's values", () => {
    expect(MAX_KEY_LENGTH_BYTES).toBe(512);
    expect(BACKEND_DEFAULTS).toEqual({ ttlMs: 30_000 });
    expect(LOCK_DEFAULTS).toEqual({
      maxRetries: 10,
      retryDelayMs: 100,
      timeoutMs: 5000,
      backoff: "exponential",
      jitter: "equal",
    });
    expect(FENCE_THRESHOLDS).toEqual({ MAX: "900000000000000", WARN: "090000000000000" });
    expect(BACKEND_LIMITS).toEqual({ REDIS: 1000, POSTGRES: 1700, FIRESTORE: 1500 });
    expect(RESERVE_BYTES).toEqual({ REDIS: 26, POSTGRES: 0, FIRESTORE: 0 });
    expect(TIME_TOLERANCE_MS).toBe(1000);
  });
});

describe("isLive", () => {
  it("keeps a lock live until the tolerance has passed after its expiry, exclusive", () => {
    const now = 1_000_000;
    expect(isLive(now + 5000, now, 1000)).toBe(true);
    expect(isLive(now, now, 1000)).toBe(true);
    expect(isLive(now - 999, now, 1000)).toBe(true);
    expect(isLive(now - 1000, now, 1000)).toBe(false);
    expect(isLive(now - 10_000, now, 1000)).toBe(false);
  });
});

describe("LockError", () => {
  it("takes SyncGuard's (code, message?, context?) and defaults the message to the code", () => {
    const cause = new Error("root cause");
    const error = new LockError("InvalidArgument", "Test error message", { key: "k", lockId: "l", cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "LockError",
      code: "InvalidArgument",
      message: "Test error message",
    });
    expect(error.context).toEqual({ key: "k", lockId: "l", cause });
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain("LockError");
    const bare = new LockError("ServiceUnavailable");
    expect(bare.message).toBe("ServiceUnavailable");
    expect(bare.context).toBeUndefined();
    expect(new LockError("Internal", "Lock not found", {}).context).toEqual({});
  });
});

describe("key and lockId validation", () => {
  it("normalizeAndValidateKey: NFC, 1..512 UTF-8 bytes, SyncGuard's messages", () => {
    expect(normalizeAndValidateKey("cafe\u0301")).toBe(normalizeAndValidateKey("café"));
    expect(normalizeAndValidateKey("x".repeat(512))).toBe("x".repeat(512));
    expect(() => normalizeAndValidateKey("🔒".repeat(128))).not.toThrow();
    expect(() => normalizeAndValidateKey("")).toThrow("Key must not be empty");
    expect(() => normalizeAndValidateKey("x".repeat(513))).toThrow(
      "Key exceeds maximum length of 512 bytes after normalization",
    );
  });

  it("validateLockId: 22 base64url characters, 'Invalid lockId format', the value never echoed", () => {
    const valid = generateLockId();
    expect(() => validateLockId(valid)).not.toThrow();
    for (const bad of [
      "",
      "short",
      `${valid}x`,
      "ABCDEFGHIJKLMNOPQRST+V",
      "ABCDEFGHIJKLMNOPQRST V",
      null,
      42,
    ]) {
      let error: unknown;
      try {
        validateLockId(bad as string);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LockError);
      expect((error as LockError).message).toMatch(
        /^Invalid lockId format\. Expected 22 base64url characters/,
      );
      if (typeof bad === "string" && bad.length > 0) expect((error as LockError).message).not.toContain(bad);
    }
  });

  it("generateLockId: 22 base64url characters, never the same twice", () => {
    const ids = new Set(Array.from({ length: 1000 }, generateLockId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("hashKey: 24 hex characters, the same for NFC and NFD spellings", () => {
    expect(hashKey("user:123")).toMatch(/^[0-9a-f]{24}$/);
    expect(hashKey("café")).toBe(hashKey("cafe\u0301"));
    expect(hashKey("a")).not.toBe(hashKey("b"));
  });

  it("checkAborted (in @firebrick/lock/common): throws LockError Aborted 'Operation aborted by signal'", () => {
    expect(() => checkAborted(undefined)).not.toThrow();
    expect(() => checkAborted(new AbortController().signal)).not.toThrow();
    expect(() => checkAborted(AbortSignal.abort())).toThrow(/Operation aborted by signal/);
  });
});

describe("sanitizeLockInfo and hasFence", () => {
  const raw = { key: "user:123", lockId: "abc123lockid12345678", expiresAtMs: 2000, acquiredAtMs: 1000 };

  it("sanitizeLockInfo hashes the key and lockId and keeps the fence only for fencing backends", () => {
    expect(sanitizeLockInfo({ ...raw, fence: "000000000000042" }, fencing)).toEqual({
      keyHash: hashKey("user:123"),
      lockIdHash: hashKey("abc123lockid12345678"),
      expiresAtMs: 2000,
      acquiredAtMs: 1000,
      fence: "000000000000042",
    });
    expect(sanitizeLockInfo({ ...raw, fence: "000000000000042" }, noFencing)).not.toHaveProperty("fence");
    expect(sanitizeLockInfo(raw, fencing)).not.toHaveProperty("fence");
  });

  it("hasFence is true only for a success carrying a non-empty fence", () => {
    expect(hasFence({ ok: true, lockId: "l", expiresAtMs: 1, fence: "000000000000001" })).toBe(true);
    expect(hasFence({ ok: false, reason: "locked" })).toBe(false);
    expect(hasFence({ ok: true, lockId: "l", expiresAtMs: 1 } as never)).toBe(false);
    expect(hasFence({ ok: true, lockId: "l", expiresAtMs: 1, fence: "" })).toBe(false);
  });
});

describe("getByKey, getById, getByKeyRaw, getByIdRaw, owns", () => {
  const info = sanitizeLockInfo(
    { ...{ key: "test-key", lockId: "real-lock-id" }, expiresAtMs: 2, acquiredAtMs: 1 },
    noFencing,
  );
  const backendAnswering = (answer: unknown) =>
    ({ lookup: vi.fn(async () => answer) }) as unknown as LockBackend & { lookup: ReturnType<typeof vi.fn> };

  it("getByKey and getById call lookup with the key or lockId and the signal", async () => {
    const backend = backendAnswering(info);
    const signal = new AbortController().signal;
    expect(await getByKey(backend, "test-key")).toEqual(info);
    expect(backend.lookup).toHaveBeenLastCalledWith({ key: "test-key" });
    await getById(backend, "test-lock-id", { signal });
    expect(backend.lookup).toHaveBeenLastCalledWith({ lockId: "test-lock-id", signal });
  });

  it("getByKeyRaw and getByIdRaw add the raw ids a backend attached, or what the query names", async () => {
    expect(await getByKeyRaw(backendAnswering(null), "test-key")).toBeNull();
    expect(await getByKeyRaw(backendAnswering({ ...info }), "test-key")).toMatchObject({
      key: "test-key",
      lockId: "[backend does not provide raw lockId]",
    });
    expect(await getByIdRaw(backendAnswering({ ...info }), "test-lock-id")).toMatchObject({
      key: "[backend does not provide raw key]",
      lockId: "test-lock-id",
    });
    const attached = attachRawData({ ...info }, { key: "test-key", lockId: "real-lock-id" });
    expect(JSON.stringify(attached)).not.toContain("real-lock-id");
    expect(await getByIdRaw(backendAnswering(attached), "x")).toMatchObject({
      key: "test-key",
      lockId: "real-lock-id",
    });
  });

  it("owns is whether lookup by lockId finds a live lock", async () => {
    expect(await owns(backendAnswering(info), "test-lock")).toBe(true);
    expect(await owns(backendAnswering(null), "test-lock")).toBe(false);
  });
});

describe("both backends, through the SyncGuard-shaped surface", () => {
  const sqlite = new Database(":memory:");
  const db = testFirestore("lock-syncguard-surface");
  afterAll(async () => {
    sqlite.close();
    await db.terminate();
  });
  const backends = [
    ["Firestore", () => createFirestoreBackend(db)],
    ["SQLite", () => createSqliteBackend(sqlite)],
  ] as const;

  it.each(backends)(
    "%s: getByKeyRaw/getByIdRaw return the raw key and lockId of a live lock; owns follows release",
    async (_name, make) => {
      const backend = make();
      const key = `raw:${generateLockId()}`;
      const lock = await backend.acquire({ key, ttlMs: 30_000 });
      if (!lock.ok) throw new Error("not acquired");
      expect(await getByKeyRaw(backend, key)).toMatchObject({ key, lockId: lock.lockId, fence: lock.fence });
      expect(await getByIdRaw(backend, lock.lockId)).toMatchObject({ key, lockId: lock.lockId });
      expect(JSON.stringify(await getByKey(backend, key))).not.toContain(lock.lockId);
      expect(await owns(backend, lock.lockId)).toBe(true);
      await lock.release();
      expect(await owns(backend, lock.lockId)).toBe(false);
    },
  );

  it.each(backends)("%s: rejects bad input with SyncGuard's InvalidArgument wording", async (_name, make) => {
    const backend = make();
    await expect(backend.release({ lockId: "ABCDEFGHIJKLMNOPQRST/V" })).rejects.toThrow(
      /Invalid lockId format/,
    );
    await expect(backend.extend({ lockId: "", ttlMs: 1000 })).rejects.toThrow(/Invalid lockId format/);
    await expect(backend.acquire({ key: "", ttlMs: 1000 })).rejects.toThrow("Key must not be empty");
    await expect(backend.isLocked({ key: "x".repeat(513) })).rejects.toThrow(/exceeds maximum length/);
  });

  it("Firestore: refuses one collection for locks and fences with SyncGuard's message", () => {
    expect(() => createFirestoreBackend(db, { collection: "same", fenceCollection: "same" })).toThrow(
      "fenceCollection must be different from collection to prevent accidental fence counter deletion (both set to: same)",
    );
  });

  it("a backend-level onReleaseError receives the failure of an automatic release", async () => {
    const onReleaseError = vi.fn();
    const file = new Database(":memory:");
    // Firestore's backend hands the same two options to the same decorateAcquireResult.
    const backend = createSqliteBackend(file, { onReleaseError, disposeTimeoutMs: 5000 });
    const lock = await backend.acquire({ key: "dispose", ttlMs: 30_000 });
    expect(lock.ok).toBe(true);
    file.close(); // the storage goes away under the holder: the release that disposal runs fails
    await lock[Symbol.asyncDispose]();
    expect(onReleaseError).toHaveBeenCalledWith(expect.any(LockError), {
      lockId: lock.ok ? lock.lockId : "",
      key: "dispose",
      source: "disposal",
    });
  });

  it("Firestore and SQLite: refuse a disposeTimeoutMs that is not a positive number", () => {
    expect(() => createFirestoreBackend(db, { disposeTimeoutMs: -1 })).toThrow(LockError);
    expect(() => createSqliteBackend(sqlite, { disposeTimeoutMs: 0 })).toThrow(LockError);
  });
});
