import type {
  AcquireHandle,
  AcquireResult,
  BackendCapabilities,
  ExtendResult,
  LockBackend,
  ReleaseResult,
} from "./types.js";

/**
 * Turns a raw acquire result into a handle with `release()`, `extend()` and `Symbol.asyncDispose`, so that
 * `await using lock = await backend.acquire(…)` releases at the end of the block, even on a throw.
 * Disposal swallows release errors: the lock then simply expires at its TTL.
 */
export function toAcquireHandle<C extends BackendCapabilities>(
  backend: Pick<LockBackend<C>, "release" | "extend">,
  result: AcquireResult<C>,
): AcquireHandle<C> {
  if (!result.ok) {
    return { ...result, async [Symbol.asyncDispose]() {} };
  }
  let released = false;
  const { lockId } = result;
  return {
    ...result,
    async release(signal?: AbortSignal): Promise<ReleaseResult> {
      const outcome = await backend.release(signal ? { lockId, signal } : { lockId });
      released = true;
      return outcome;
    },
    extend(ttlMs: number, signal?: AbortSignal): Promise<ExtendResult> {
      return backend.extend(signal ? { lockId, ttlMs, signal } : { lockId, ttlMs });
    },
    async [Symbol.asyncDispose]() {
      if (released) return;
      released = true;
      try {
        await backend.release({ lockId });
      } catch {
        // The lock expires at its TTL; disposal must not mask the block's own error.
      }
    },
  } as unknown as AcquireHandle<C>;
}
