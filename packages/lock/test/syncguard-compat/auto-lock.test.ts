// Behaviours of SyncGuard's `lock(backend, fn, config)` (its test/unit/common/auto-lock.test.ts), through the
// import `syncguard` → `@firebrick/lock`.
import { decorateAcquireResult, LockError, lock } from "@firebrick/lock";
import { describe, expect, it, vi } from "vitest";
import { type Fencing, handleOps, okResult, spyBackend } from "./backends.js";

/** Answers `locked` `contended` times, then acquires. */
function contendedFirst(contended: number) {
  const backend = spyBackend();
  let calls = 0;
  vi.mocked(backend.acquire).mockImplementation(async () => {
    calls += 1;
    if (calls <= contended)
      return decorateAcquireResult<Fencing>(backend.ops, { ok: false, reason: "locked" }, "k");
    return decorateAcquireResult<Fencing>(handleOps(), okResult(), "k");
  });
  return { backend, calls: () => calls };
}

describe("lock(backend, fn, config)", () => {
  it("acquires once, runs fn, returns its value and releases the lockId", async () => {
    const backend = spyBackend();
    expect(await lock(backend, async () => "success", { key: "test-key", ttlMs: 30_000 })).toBe("success");
    expect(backend.acquire).toHaveBeenCalledTimes(1);
    expect(backend.release).toHaveBeenCalledWith({ lockId: "test-lock-id", signal: undefined });
  });

  it("passes key, ttlMs (30000 by default) and the caller's signal to acquire", async () => {
    const backend = spyBackend();
    await lock(backend, async () => "success", { key: "test-key" });
    expect(backend.acquire).toHaveBeenCalledWith({ key: "test-key", ttlMs: 30_000, signal: undefined });
    const controller = new AbortController();
    await lock(backend, async () => "success", { key: "test-key", ttlMs: 60_000, signal: controller.signal });
    expect(backend.acquire).toHaveBeenLastCalledWith({
      key: "test-key",
      ttlMs: 60_000,
      signal: controller.signal,
    });
  });

  it.each(["exponential", "fixed"] as const)(
    "retries a contended key (%s backoff) until it acquires",
    async (backoff) => {
      const { backend, calls } = contendedFirst(3);
      const value = await lock(backend, async () => "success", {
        key: "test-key",
        acquisition: { maxRetries: 10, retryDelayMs: 5, timeoutMs: 5000, backoff, jitter: "none" },
      });
      expect(value).toBe("success");
      expect(calls()).toBe(4);
    },
  );

  it("fails with AcquisitionTimeout, 'Failed to acquire lock…', once maxRetries are spent", async () => {
    const { backend } = contendedFirst(Number.POSITIVE_INFINITY);
    const attempt = lock(backend, async () => "success", {
      key: "test-key",
      acquisition: { maxRetries: 2, retryDelayMs: 1, timeoutMs: 5000 },
    });
    await expect(attempt).rejects.toThrow(/Failed to acquire lock/);
    await expect(attempt).rejects.toMatchObject({ code: "AcquisitionTimeout" });
  });

  it("fails with AcquisitionTimeout once timeoutMs has passed, whatever maxRetries allows", async () => {
    const { backend } = contendedFirst(Number.POSITIVE_INFINITY);
    const attempt = lock(backend, async () => "success", {
      key: "test-key",
      acquisition: { maxRetries: 1000, retryDelayMs: 100, timeoutMs: 50 },
    });
    await expect(attempt).rejects.toBeInstanceOf(LockError);
    await expect(attempt).rejects.toMatchObject({ code: "AcquisitionTimeout" });
  });

  it("refuses to start when the caller's signal has aborted ('cancelled by user signal')", async () => {
    const attempt = lock(spyBackend(), async () => "success", {
      key: "test-key",
      signal: AbortSignal.abort(),
    });
    await expect(attempt).rejects.toThrow(/cancelled by user signal/);
    await expect(attempt).rejects.toMatchObject({ code: "Aborted" });
  });

  it("refuses to start when the acquisition's own signal has aborted ('Acquisition cancelled')", async () => {
    const attempt = lock(spyBackend(), async () => "success", {
      key: "test-key",
      acquisition: { signal: AbortSignal.abort() },
    });
    await expect(attempt).rejects.toThrow(/Acquisition cancelled/);
  });

  it("rethrows fn's error after releasing", async () => {
    const backend = spyBackend();
    await expect(
      lock(
        backend,
        async () => {
          throw new Error("Function error");
        },
        { key: "test-key" },
      ),
    ).rejects.toThrow("Function error");
    expect(backend.release).toHaveBeenCalled();
  });

  it("wraps an unexpected (non-LockError) acquire failure in LockError Internal", async () => {
    const backend = spyBackend();
    vi.mocked(backend.acquire).mockRejectedValueOnce(new Error("Unexpected error"));
    const attempt = lock(backend, async () => "success", { key: "test-key" });
    await expect(attempt).rejects.toBeInstanceOf(LockError);
    await expect(attempt).rejects.toMatchObject({ code: "Internal", message: "Unexpected error" });
  });

  it.each([-1, 0, 1.5])("rejects ttlMs %s with 'ttlMs must be a positive integer'", async (ttlMs) => {
    await expect(lock(spyBackend(), async () => "success", { key: "test-key", ttlMs })).rejects.toThrow(
      /ttlMs must be a positive integer/,
    );
  });

  it("rejects an empty key with 'Key must not be empty'", async () => {
    await expect(lock(spyBackend(), async () => "success", { key: "" })).rejects.toThrow(
      /Key must not be empty/,
    );
  });

  it("hands a failed release to config.onReleaseError with source 'disposal', not to the caller", async () => {
    const backend = spyBackend();
    const failure = new Error("release failed");
    vi.mocked(backend.release).mockRejectedValueOnce(failure);
    const onReleaseError = vi.fn();
    expect(await lock(backend, async () => "done", { key: "test-key", onReleaseError })).toBe("done");
    expect(onReleaseError).toHaveBeenCalledWith(failure, {
      lockId: "test-lock-id",
      key: "test-key",
      source: "disposal",
    });
  });
});
