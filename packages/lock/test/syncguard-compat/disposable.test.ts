// Behaviours of SyncGuard's disposable handles (its test/unit/disposable/*.test.ts): `decorateAcquireResult`,
// `acquireHandle` (root) and `createDisposableHandle` (`syncguard/common` → `@firebrick/lock/common`).
import { type AcquireOk, acquireHandle, decorateAcquireResult, type OnReleaseError } from "@firebrick/lock";
import { createDisposableHandle } from "@firebrick/lock/common";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { type Fencing, handleOps, okResult } from "./backends.js";

let ops: ReturnType<typeof handleOps>;
let consoleError: MockInstance;
beforeEach(() => {
  ops = handleOps();
  consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => consoleError.mockRestore());

const acquired = okResult("test-lock-123") as AcquireOk<Fencing>;

describe("createDisposableHandle", () => {
  it("carries the acquisition and release(), extend(), Symbol.asyncDispose", () => {
    const handle = createDisposableHandle(ops, acquired, "test-key");
    expect(handle).toMatchObject({ ok: true, lockId: "test-lock-123", fence: "000000000000001" });
    for (const method of [handle.release, handle.extend, handle[Symbol.asyncDispose]]) {
      expect(typeof method).toBe("function");
    }
  });

  it("forwards release(signal) and extend(ttlMs, signal) to the backend", async () => {
    const handle = createDisposableHandle(ops, acquired, "test-key");
    const extendSignal = new AbortController().signal;
    await handle.extend(15_000, extendSignal);
    expect(ops.extend).toHaveBeenCalledWith({ lockId: "test-lock-123", ttlMs: 15_000, signal: extendSignal });
    const releaseSignal = new AbortController().signal;
    expect(await handle.release(releaseSignal)).toEqual({ ok: true });
    expect(ops.release).toHaveBeenCalledWith({ lockId: "test-lock-123", signal: releaseSignal });
  });

  it("releases at most once: later release() calls and disposal answer without a backend call", async () => {
    const handle = createDisposableHandle(ops, acquired, "test-key");
    expect(await handle.release()).toEqual({ ok: true });
    expect(await handle.release()).toEqual({ ok: false });
    await handle[Symbol.asyncDispose]();
    await handle[Symbol.asyncDispose]();
    expect(ops.release).toHaveBeenCalledTimes(1);
  });

  it("still extends after a release (the backend then answers)", async () => {
    const handle = createDisposableHandle(ops, acquired, "test-key");
    await handle.release();
    ops.extend.mockResolvedValueOnce({ ok: false });
    expect(await handle.extend(15_000)).toEqual({ ok: false });
  });

  it("throws from a manual release() failure and does not call onReleaseError", async () => {
    const onReleaseError = vi.fn<OnReleaseError>();
    ops.release.mockRejectedValueOnce(new Error("Network timeout"));
    const handle = createDisposableHandle(ops, acquired, "test-key", onReleaseError);
    await expect(handle.release()).rejects.toThrow("Network timeout");
    expect(onReleaseError).not.toHaveBeenCalled();
  });

  it("never throws from disposal: the failure goes to onReleaseError, normalized to an Error", async () => {
    const onReleaseError = vi.fn<OnReleaseError>();
    const failure = new Error("Network failure during disposal");
    ops.release.mockRejectedValueOnce(failure);
    await expect(
      createDisposableHandle(ops, acquired, "test-key", onReleaseError)[Symbol.asyncDispose](),
    ).resolves.toBeUndefined();
    expect(onReleaseError).toHaveBeenCalledWith(failure, {
      lockId: "test-lock-123",
      key: "test-key",
      source: "disposal",
    });

    ops.release.mockRejectedValueOnce("Connection timeout");
    await createDisposableHandle(ops, acquired, "test-key", onReleaseError)[Symbol.asyncDispose]();
    const [normalized] = onReleaseError.mock.calls[1]!;
    expect(normalized).toBeInstanceOf(Error);
    expect(normalized.message).toBe("Connection timeout");
  });

  it("swallows an onReleaseError that throws, without logging", async () => {
    ops.release.mockRejectedValueOnce(new Error("Backend error"));
    const onReleaseError = vi.fn<OnReleaseError>(() => {
      throw new Error("Callback failed");
    });
    await createDisposableHandle(ops, acquired, "test-key", onReleaseError)[Symbol.asyncDispose]();
    expect(onReleaseError).toHaveBeenCalledTimes(1);
    expect(consoleError).not.toHaveBeenCalled();
  });

  it("by default logs a disposal failure outside production (no key, no lockId), and stays silent in production", async () => {
    const saved = { env: process.env.NODE_ENV, debug: process.env.SYNCGUARD_DEBUG };
    try {
      delete process.env.SYNCGUARD_DEBUG;
      process.env.NODE_ENV = "development";
      ops.release.mockRejectedValueOnce(new Error("Network failure in dev"));
      await createDisposableHandle(ops, acquired, "test-key")[Symbol.asyncDispose]();
      expect(consoleError).toHaveBeenCalledWith(expect.stringMatching(/Lock disposal failed/), {
        error: "Network failure in dev",
        errorName: "Error",
        source: "disposal",
      });
      consoleError.mockClear();
      process.env.NODE_ENV = "production";
      ops.release.mockRejectedValueOnce(new Error("Network failure in prod"));
      await createDisposableHandle(ops, acquired, "test-key")[Symbol.asyncDispose]();
      expect(consoleError).not.toHaveBeenCalled();
      process.env.SYNCGUARD_DEBUG = "true";
      ops.release.mockRejectedValueOnce(new Error("Network failure in prod with debug"));
      await createDisposableHandle(ops, acquired, "test-key")[Symbol.asyncDispose]();
      expect(consoleError).toHaveBeenCalledTimes(1);
    } finally {
      process.env.NODE_ENV = saved.env;
      if (saved.debug === undefined) delete process.env.SYNCGUARD_DEBUG;
      else process.env.SYNCGUARD_DEBUG = saved.debug;
    }
  });

  it("with disposeTimeoutMs, stops waiting at the deadline, aborts the release and reports its late failure", async () => {
    const onReleaseError = vi.fn<OnReleaseError>();
    ops.release.mockImplementation(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal?.addEventListener("abort", () =>
            reject(new Error("AbortError: Release operation timed out")),
          );
        }),
    );
    const handle = createDisposableHandle(ops, acquired, "test-key", onReleaseError, 100);
    let fire: (() => void) | undefined;
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((
      callback: () => void,
      delay: number,
    ) => {
      expect(delay).toBe(100);
      fire = callback;
      return 0;
    }) as never);
    try {
      const disposal = handle[Symbol.asyncDispose]();
      expect(fire).toBeDefined();
      fire?.();
      await disposal;
    } finally {
      setTimeoutSpy.mockRestore();
    }
    await vi.waitFor(() => expect(onReleaseError).toHaveBeenCalledTimes(1));
    const [error, context] = onReleaseError.mock.calls[0]!;
    expect(error.message).toContain("timed out");
    expect(context).toEqual({ lockId: "test-lock-123", key: "test-key", source: "disposal" });
  });

  it("without disposeTimeoutMs, starts no timer", async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    try {
      await createDisposableHandle(ops, acquired, "test-key")[Symbol.asyncDispose]();
      expect(setTimeoutSpy).not.toHaveBeenCalled();
      expect(ops.release).toHaveBeenCalledWith({ lockId: "test-lock-123" });
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });
});

describe("decorateAcquireResult", () => {
  it("gives a success a handle whose disposal releases it, even when the block throws", async () => {
    const decorated = decorateAcquireResult(ops, okResult("test-lock-ccc"), "test-key");
    const block = async () => {
      await using lock = decorated;
      if (lock.ok) throw new Error("User code failed");
    };
    await expect(block()).rejects.toThrow("User code failed");
    expect(ops.release).toHaveBeenCalledWith({ lockId: "test-lock-ccc" });
  });

  it("gives a failure no-op methods: release() and extend() answer { ok: false }, disposal does nothing", async () => {
    const decorated = decorateAcquireResult<Fencing>(ops, { ok: false, reason: "locked" }, "test-key");
    expect(decorated).toMatchObject({ ok: false, reason: "locked" });
    expect(await decorated.release()).toEqual({ ok: false });
    expect(await decorated.extend(5000)).toEqual({ ok: false });
    {
      await using _lock = decorated;
    }
    expect(ops.release).not.toHaveBeenCalled();
    expect(ops.extend).not.toHaveBeenCalled();
  });

  it("passes onReleaseError and disposeTimeoutMs through to the handle", async () => {
    const onReleaseError = vi.fn<OnReleaseError>();
    const failure = new Error("Disposal failed");
    ops.release.mockRejectedValueOnce(failure);
    const decorated = decorateAcquireResult(ops, okResult("test-lock-999"), "test-key", onReleaseError, 1000);
    await decorated[Symbol.asyncDispose]();
    expect(onReleaseError).toHaveBeenCalledWith(failure, {
      lockId: "test-lock-999",
      key: "test-key",
      source: "disposal",
    });
  });
});

describe("acquireHandle", () => {
  it("returns the backend's decorated result, and a failure as is", async () => {
    const handle = decorateAcquireResult(ops, okResult(), "test");
    expect(await acquireHandle({ acquire: async () => handle }, { key: "test", ttlMs: 30_000 })).toBe(handle);
    const failed = await acquireHandle(
      { acquire: async () => decorateAcquireResult<Fencing>(ops, { ok: false, reason: "locked" }, "test") },
      { key: "test", ttlMs: 30_000 },
    );
    expect(failed.ok).toBe(false);
  });

  it("refuses an undecorated success from a custom backend", async () => {
    const raw = { acquire: async () => okResult("raw-lock-123") } as never;
    await expect(acquireHandle(raw, { key: "test", ttlMs: 30_000 })).rejects.toThrow(
      /Backend\.acquire\(\) must return a decorated result/,
    );
  });
});
