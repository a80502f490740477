import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { abortableDelay } from "../src/common/abort.js";
import { retryDelay } from "../src/common/lock.js";
import type { BackendCapabilities, LockBackend, LockTelemetryEvent } from "../src/index.js";
import { createLock, hashKey, LockError, withTelemetry } from "../src/index.js";
import { createSqliteBackend, createSqliteLockAdmin } from "../src/sqlite/index.js";
import { expectLockError, freshKey } from "./contract.js";

// lock() runs on real timers; these tests wait on events (a release, a lost signal), never assert durations.
let db: Database.Database;
let backend: LockBackend<BackendCapabilities>;

beforeEach(() => {
  db = new Database(":memory:");
  backend = createSqliteBackend(db);
});
afterEach(() => db.close());

/** A real backend whose first `failures` acquires throw `code`: injected faults. */
function failingFirst(inner: LockBackend<BackendCapabilities>, failures: number, code: LockError["code"]) {
  let calls = 0;
  const wrapped: LockBackend<BackendCapabilities> & { calls(): number } = {
    ...inner,
    acquire: async (opts) => {
      calls += 1;
      if (calls <= failures) throw new LockError(code, "injected");
      return inner.acquire(opts);
    },
    calls: () => calls,
  };
  return wrapped;
}

describe("lock()", () => {
  it("runs fn under the lock with its fence and lockId, returns its value, and releases", async () => {
    const lock = createLock(backend);
    const key = freshKey();
    const value = await lock(
      async ({ fence, lockId, signal }) => {
        expect(fence).toMatch(/^\d{15}$/);
        expect(lockId).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(signal.aborted).toBe(false);
        expect(await backend.isLocked({ key })).toBe(true);
        return "done";
      },
      { key },
    );
    expect(value).toBe("done");
    expect(await backend.isLocked({ key })).toBe(false);
  });

  it("releases when fn throws and rethrows fn's error", async () => {
    const lock = createLock(backend);
    const key = freshKey();
    await expect(
      lock(
        () => {
          throw new Error("boom");
        },
        { key },
      ),
    ).rejects.toThrow("boom");
    expect(await backend.isLocked({ key })).toBe(false);
  });

  it("retries while the key is held and acquires once the holder releases", async () => {
    const key = freshKey();
    const holder = await backend.acquire({ key, ttlMs: 30_000 });
    if (!holder.ok) throw new Error("not acquired");
    let attempts = 0;
    const counting: LockBackend<BackendCapabilities> = {
      ...backend,
      acquire: async (opts) => {
        attempts += 1;
        if (attempts === 3) await backend.release({ lockId: holder.lockId });
        return backend.acquire(opts);
      },
    };
    const fence = await createLock(counting)(({ fence }) => fence, {
      key,
      acquisition: { retryDelayMs: 5, timeoutMs: 10_000 },
    });
    expect(attempts).toBe(3);
    expect(fence > holder.fence).toBe(true);
  });

  it("fails with AcquisitionTimeout when the key stays held past timeoutMs", async () => {
    const key = freshKey();
    await backend.acquire({ key, ttlMs: 30_000 });
    await expectLockError(
      createLock(backend)(() => "never", {
        key,
        acquisition: { retryDelayMs: 10, timeoutMs: 100, maxRetries: 1000 },
      }),
      "AcquisitionTimeout",
    );
  });

  it("fails with AcquisitionTimeout once maxRetries are spent", async () => {
    const key = freshKey();
    await backend.acquire({ key, ttlMs: 30_000 });
    const counted = failingFirst(backend, 0, "Internal");
    await expectLockError(
      createLock(counted)(() => "never", { key, acquisition: { retryDelayMs: 1, maxRetries: 3 } }),
      "AcquisitionTimeout",
    );
    expect(counted.calls()).toBe(4);
  });

  it.each(["ServiceUnavailable", "NetworkTimeout", "RateLimited"] as const)(
    "retries a transient %s",
    async (code) => {
      const flaky = failingFirst(backend, 2, code);
      const key = freshKey();
      const result = await createLock(flaky)(() => "ran", { key, acquisition: { retryDelayMs: 1 } });
      expect(result).toBe("ran");
      expect(flaky.calls()).toBe(3);
    },
  );

  it("does not retry a non-transient error", async () => {
    const broken = failingFirst(backend, 1, "AuthFailed");
    await expectLockError(
      createLock(broken)(() => "never", { key: freshKey() }),
      "AuthFailed",
    );
    expect(broken.calls()).toBe(1);
  });

  it("stops waiting between retries as soon as the signal aborts", async () => {
    const key = freshKey();
    await backend.acquire({ key, ttlMs: 60_000 });
    const controller = new AbortController();
    const pending = createLock(backend)(() => "never", {
      key,
      signal: controller.signal,
      // Without abort-aware delays this would sleep a minute and hit the test timeout.
      acquisition: { retryDelayMs: 60_000, timeoutMs: 120_000, jitter: "none", backoff: "fixed" },
    });
    setTimeout(() => controller.abort(), 20);
    await expectLockError(pending, "Aborted");
  });

  it("rejects invalid options before touching the backend", async () => {
    const lock = createLock(backend);
    await expectLockError(
      lock(() => 1, { key: "" }),
      "InvalidArgument",
    );
    await expectLockError(
      lock(() => 1, { key: "k", ttlMs: 0 }),
      "InvalidArgument",
    );
    await expectLockError(
      lock(() => 1, { key: "k", ttlMs: 1000, autoExtend: 2000 }),
      "InvalidArgument",
    );
  });
});

describe("shortcuts", () => {
  it("lock(backend, fn, options) and the SQLite createLock(database) run fn under the lock", async () => {
    const { lock } = await import("../src/index.js");
    const { createLock: createSqliteLock } = await import("../src/sqlite/index.js");
    const key = freshKey();
    expect(await lock(backend, async () => backend.isLocked({ key }), { key })).toBe(true);
    const events: LockTelemetryEvent[] = [];
    const onSqlite = createSqliteLock(db, { onEvent: (e) => events.push(e) });
    expect(await onSqlite(({ fence }) => fence, { key })).toBe("000000000000002");
    expect(events).toHaveLength(1);
    expect(await backend.isLocked({ key })).toBe(false);
  });
});

describe("lock() auto-extension", () => {
  it("keeps extending while fn runs, so the stored expiry moves forward", async () => {
    const key = freshKey();
    const events: LockTelemetryEvent[] = [];
    const lock = createLock(backend, { onEvent: (e) => events.push(e) });
    await lock(
      async ({ signal }) => {
        const first = await backend.lookup({ key });
        // Wait for two heartbeats by watching the stored expiry, not the clock.
        let latest = first;
        while ((latest?.expiresAtMs ?? 0) <= (first?.expiresAtMs ?? 0) + 1) {
          await abortableDelay(20);
          latest = await backend.lookup({ key });
        }
        expect(signal.aborted).toBe(false);
      },
      { key, ttlMs: 600, autoExtend: 50 },
    );
    const run = events.find((e) => e.type === "lock");
    expect(run).toMatchObject({ type: "lock", outcome: "released" });
    expect(run?.type === "lock" && run.extensions).toBeGreaterThanOrEqual(1);
  });

  it("extends in time when the acquire itself took most of the TTL", async () => {
    // A slow acquire (a cold Firestore project takes seconds): the heartbeat must come before the lease ends,
    // not a full interval after fn starts.
    const slow: LockBackend<BackendCapabilities> = {
      ...backend,
      acquire: async (opts) => {
        const result = await backend.acquire(opts);
        await abortableDelay(450);
        return result;
      },
    };
    const key = freshKey();
    const events: LockTelemetryEvent[] = [];
    await createLock(slow, { onEvent: (e) => events.push(e) })(
      async ({ signal }) => {
        const first = await backend.lookup({ key });
        let latest = first;
        while ((latest?.expiresAtMs ?? 0) <= (first?.expiresAtMs ?? 0) + 1 && !signal.aborted) {
          await abortableDelay(20);
          latest = await backend.lookup({ key });
        }
        expect(signal.aborted).toBe(false);
      },
      { key, ttlMs: 600, autoExtend: 400 },
    );
    expect(events.find((e) => e.type === "lock")).toMatchObject({ outcome: "released" });
  });

  it("aborts fn's signal once the bounded extensions are spent and the TTL runs out", async () => {
    const key = freshKey();
    const events: LockTelemetryEvent[] = [];
    const lock = createLock(backend, { onEvent: (e) => events.push(e) });
    const reason = await lock(
      ({ signal }) =>
        new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason))),
      { key, ttlMs: 150, autoExtend: { intervalMs: 50, maxExtensions: 2 } },
    );
    expect(reason).toBeInstanceOf(LockError);
    expect((reason as LockError).message).toMatch(/TTL ran out/);
    expect(events.find((e) => e.type === "lock")).toMatchObject({ outcome: "lost", extensions: 2 });
  });

  it("aborts fn's signal when an extension is refused because the lock was taken away", async () => {
    const key = freshKey();
    const admin = createSqliteLockAdmin(db);
    const reason = await createLock(backend)(
      async ({ signal }) => {
        await admin.forceRelease({ key });
        return new Promise<unknown>((resolve) =>
          signal.addEventListener("abort", () => resolve(signal.reason)),
        );
      },
      { key, ttlMs: 10_000, autoExtend: 30 },
    );
    expect((reason as LockError).message).toMatch(/extension refused/);
  });

  it("passes the caller's own abort through to fn's signal", async () => {
    const controller = new AbortController();
    const aborted = await createLock(backend)(
      ({ signal }) => {
        controller.abort(new Error("caller gave up"));
        return signal.aborted;
      },
      { key: freshKey(), signal: controller.signal },
    );
    expect(aborted).toBe(true);
  });
});

describe("telemetry", () => {
  it("reports each lock() run with acquire latency, hold time, attempts, outcome and a hashed key", async () => {
    const events: LockTelemetryEvent[] = [];
    const key = freshKey("private");
    await createLock(backend, { onEvent: (e) => events.push(e) })(() => abortableDelay(5), { key });
    const [event] = events;
    expect(event).toMatchObject({ type: "lock", outcome: "released", attempts: 1, keyHash: hashKey(key) });
    if (event?.type !== "lock") throw new Error("no lock event");
    expect(event.acquireMs).toBeGreaterThanOrEqual(0);
    expect(event.holdMs).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain("private");
  });

  it("reports a timed-out acquisition", async () => {
    const key = freshKey();
    await backend.acquire({ key, ttlMs: 30_000 });
    const events: LockTelemetryEvent[] = [];
    await createLock(backend, { onEvent: (e) => events.push(e) })(() => 1, {
      key,
      acquisition: { maxRetries: 1, retryDelayMs: 1 },
    }).catch(() => {});
    expect(events).toEqual([
      expect.objectContaining({ type: "lock", outcome: "acquire-timeout", attempts: 2 }),
    ]);
  });

  it("times every backend operation and marks contention as locked", async () => {
    const events: LockTelemetryEvent[] = [];
    const observed = withTelemetry(backend, (e) => events.push(e));
    const key = freshKey();
    const lock = await observed.acquire({ key, ttlMs: 10_000 });
    await observed.acquire({ key, ttlMs: 10_000 });
    if (!lock.ok) throw new Error("not acquired");
    await observed.extend({ lockId: lock.lockId, ttlMs: 10_000 });
    await observed.release({ lockId: lock.lockId });
    await observed.isLocked({ key: "" }).catch(() => {});
    expect(events.map((e) => [e.type, "result" in e ? e.result : ""])).toEqual([
      ["acquire", "ok"],
      ["acquire", "fail"],
      ["extend", "ok"],
      ["release", "ok"],
      ["isLocked", "error"],
    ]);
    expect(events[1]).toMatchObject({ reason: "locked", keyHash: hashKey(key) });
    expect(events[4]).toMatchObject({ errorCode: "InvalidArgument" });
    for (const e of events) expect("durationMs" in e && e.durationMs >= 0).toBe(true);
  });

  it("survives a listener that throws", async () => {
    const observed = withTelemetry(backend, () => {
      throw new Error("metrics down");
    });
    expect((await observed.acquire({ key: freshKey(), ttlMs: 1000 })).ok).toBe(true);
  });
});

describe("retryDelay", () => {
  const settings = { retryDelayMs: 100, backoff: "exponential", jitter: "none" } as const;
  it("doubles per attempt with exponential backoff and stays fixed otherwise", () => {
    expect([0, 1, 2, 3].map((a) => retryDelay(a, settings))).toEqual([100, 200, 400, 800]);
    expect([0, 3].map((a) => retryDelay(a, { ...settings, backoff: "fixed" }))).toEqual([100, 100]);
  });
  it("spreads equal jitter over the upper half and full jitter over the whole delay", () => {
    expect(retryDelay(1, { ...settings, jitter: "equal" }, () => 0)).toBe(100);
    expect(retryDelay(1, { ...settings, jitter: "equal" }, () => 1)).toBe(200);
    expect(retryDelay(1, { ...settings, jitter: "full" }, () => 0)).toBe(0);
    expect(retryDelay(1, { ...settings, jitter: "full" }, () => 0.5)).toBe(100);
  });
});
