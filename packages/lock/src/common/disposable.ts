import { LockError } from "./errors.js";
import type {
  AcquireOk,
  AcquireResult,
  BackendCapabilities,
  DecoratedAcquireResult,
  ExtendResult,
  KeyOp,
  LockBackend,
  OnReleaseError,
  ReleaseResult,
} from "./types.js";

/** A successful acquisition with `release()`, `extend()` and `Symbol.asyncDispose`. */
export interface DisposableLockHandle {
  /**
   * Releases the lock, at most once: a second call (or one after disposal) answers `{ ok: false }` without
   * calling the backend. Throws on system errors, as `backend.release()` does.
   */
  release(signal?: AbortSignal): Promise<ReleaseResult>;
  /** Resets the TTL to `ttlMs` from now; may be called any number of times. */
  extend(ttlMs: number, signal?: AbortSignal): Promise<ExtendResult>;
  /** Releases at the end of an `await using` block; never throws (failures go to `onReleaseError`). */
  [Symbol.asyncDispose](): Promise<void>;
}

export type AsyncLock<C extends BackendCapabilities> = AcquireOk<C> & DisposableLockHandle;

/**
 * What happens to an automatic-release failure nobody asked to hear about: logged to stderr outside
 * production (or with `SYNCGUARD_DEBUG=true`, the variable SyncGuard users already set), without the key or
 * lockId, which can be sensitive.
 */
export const defaultDisposalErrorHandler: OnReleaseError = (error, context) => {
  if (process.env.NODE_ENV !== "production" || process.env.SYNCGUARD_DEBUG === "true") {
    console.error("[@firebrick/lock] Lock disposal failed:", {
      error: error.message,
      errorName: error.name,
      source: context.source,
    });
  }
};

/** Calls the callback with an `Error` (wrapping anything else thrown), never letting the callback throw. */
export function reportReleaseError(
  onReleaseError: OnReleaseError,
  error: unknown,
  context: { lockId: string; key: string },
): void {
  let normalized: Error;
  if (error instanceof Error) {
    normalized = error;
  } else {
    normalized = new Error(String(error));
    Object.assign(normalized, { originalError: error });
  }
  try {
    onReleaseError(normalized, { ...context, source: "disposal" });
  } catch {
    // The callback's own failure must not turn a best-effort cleanup into a crash.
  }
}

type Outcome = { failed: false } | { failed: true; error: unknown };

/**
 * Wraps a successful acquisition in a handle whose disposal releases it (ADR-019,
 * docs/adr/ADR-019-syncguard-compatibility.md).
 * With `disposeTimeoutMs`, disposal stops waiting after that long (aborting the release's signal); a release
 * that fails later is still reported to `onReleaseError`.
 */
export function createDisposableHandle<C extends BackendCapabilities>(
  backend: Pick<LockBackend<C>, "release" | "extend">,
  result: AcquireOk<C>,
  key: string,
  onReleaseError: OnReleaseError = defaultDisposalErrorHandler,
  disposeTimeoutMs?: number,
): AsyncLock<C> {
  const { lockId } = result;
  // At most one release reaches the backend, whichever of release() and disposal comes first.
  let releasing: Promise<unknown> | undefined;
  const report = (error: unknown) => reportReleaseError(onReleaseError, error, { lockId, key });

  const handle: DisposableLockHandle = {
    async release(signal) {
      if (releasing) return { ok: false };
      const attempt = backend.release({ lockId, signal });
      releasing = attempt.catch(() => undefined);
      return attempt;
    },
    extend(ttlMs, signal) {
      return backend.extend({ lockId, ttlMs, signal });
    },
    [Symbol.asyncDispose]() {
      if (releasing) return releasing.then(() => undefined);
      const disposal = dispose();
      releasing = disposal;
      return disposal;
    },
  };

  async function dispose(): Promise<void> {
    if (!(typeof disposeTimeoutMs === "number" && disposeTimeoutMs > 0)) {
      try {
        await backend.release({ lockId });
      } catch (error) {
        report(error);
      }
      return;
    }
    const controller = new AbortController();
    const outcome: Promise<Outcome> = backend.release({ lockId, signal: controller.signal }).then(
      () => ({ failed: false }),
      (error: unknown) => ({ failed: true, error }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        controller.abort(
          new LockError("NetworkTimeout", `Lock disposal timed out after ${disposeTimeoutMs} ms`),
        );
        resolve("timeout");
      }, disposeTimeoutMs);
      (timer as { unref?: () => void } | undefined)?.unref?.();
    });
    void outcome.finally(() => clearTimeout(timer));
    const first = await Promise.race([outcome, timedOut]);
    if (first === "timeout") {
      // Disposal returns now; a release that still fails is reported when it does.
      void outcome.then((late) => {
        if (late.failed) report(late.error);
      });
    } else if (first.failed) {
      report(first.error);
    }
  }

  return Object.assign({}, result, handle) as AsyncLock<C>;
}

/**
 * Adds `release()`, `extend()` and `Symbol.asyncDispose` to a raw acquire result: what every backend's
 * `acquire()` returns. A failed acquisition gets no-op methods (answering `{ ok: false }`), so that
 * `await using` works whatever the outcome.
 *
 * @example
 * return decorateAcquireResult(backend, await acquireOnce(opts), key, options.onReleaseError, options.disposeTimeoutMs);
 */
export function decorateAcquireResult<C extends BackendCapabilities>(
  backend: Pick<LockBackend<C>, "release" | "extend">,
  result: AcquireResult<C>,
  key: string,
  onReleaseError: OnReleaseError = defaultDisposalErrorHandler,
  disposeTimeoutMs?: number,
): DecoratedAcquireResult<C> {
  if (result.ok) return createDisposableHandle(backend, result, key, onReleaseError, disposeTimeoutMs);
  const failed = { ...result };
  // Non-enumerable: a failed result still compares equal to `{ ok: false, reason: "locked" }`.
  const noOp = async () => ({ ok: false as const });
  Object.defineProperties(failed, {
    release: { value: noOp },
    extend: { value: noOp },
    [Symbol.asyncDispose]: { value: async () => {} },
  });
  return failed as DecoratedAcquireResult<C>;
}

/**
 * `backend.acquire(opts)`, typed as a handle or a failure. Throws `LockError("Internal")` if the backend
 * returned an undecorated success (a custom backend that forgot `decorateAcquireResult`).
 *
 * @example
 * await using lock = await acquireHandle(backend, { key: "invoice:42", ttlMs: 10_000 });
 * if (lock.ok) await save(lock.fence);
 */
export async function acquireHandle<C extends BackendCapabilities>(
  backend: Pick<LockBackend<C>, "acquire">,
  opts: KeyOp & { ttlMs: number },
): Promise<AsyncLock<C> | { ok: false; reason: "locked" }> {
  const result = await backend.acquire(opts);
  if (!result.ok) return result;
  const candidate = result as Partial<DisposableLockHandle>;
  if (typeof candidate.release !== "function" || typeof candidate[Symbol.asyncDispose] !== "function") {
    throw new LockError(
      "Internal",
      "Backend.acquire() must return a decorated result: wrap it with decorateAcquireResult()",
    );
  }
  return result as AsyncLock<C>;
}
