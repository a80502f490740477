import { hashKey } from "./crypto.js";
import { LockError } from "./errors.js";
import type { AcquireHandle, BackendCapabilities, LockBackend } from "./types.js";

/** One backend operation, timed. Identifiers are hashed: events are meant for logs and metrics. */
export interface OperationEvent {
  type: "acquire" | "release" | "extend" | "isLocked" | "lookup";
  result: "ok" | "fail" | "error";
  /** Why a `fail` failed, where the backend can tell: a contended acquire is `locked`. */
  reason?: "locked";
  errorCode?: string;
  durationMs: number;
  keyHash?: string;
  lockIdHash?: string;
}

/** One run of `lock(fn)`: how long acquisition took, how long the lock was held, and how it ended. */
export interface LockRunEvent {
  type: "lock";
  outcome: "released" | "error" | "lost" | "acquire-timeout" | "aborted" | "acquire-error";
  attempts: number;
  acquireMs: number;
  /** Absent when the lock was never acquired. */
  holdMs?: number;
  extensions: number;
  keyHash: string;
  fence?: string;
}

export type LockEvent = OperationEvent | LockRunEvent;

export type LockEventListener = (event: LockEvent) => void;

/** Calls the listener, never letting its failure reach the lock operation it observes. */
export function emit(listener: LockEventListener | undefined, event: LockEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A broken metrics sink must not break locking.
  }
}

/**
 * Wraps a backend so that every operation reports an `OperationEvent` with its duration.
 *
 * @example
 * const backend = withTelemetry(createFirestoreBackend(db), (e) => histogram.observe({ op: e.type }, e.durationMs));
 */
export function withTelemetry<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  onEvent: LockEventListener,
): LockBackend<C> {
  async function timed<T>(
    type: OperationEvent["type"],
    ids: { key?: string; lockId?: string },
    run: () => Promise<T>,
    judge: (value: T) => Pick<OperationEvent, "result" | "reason">,
  ): Promise<T> {
    const started = performance.now();
    const hashes = {
      ...(typeof ids.key === "string" ? { keyHash: hashKey(ids.key) } : {}),
      ...(typeof ids.lockId === "string" ? { lockIdHash: hashKey(ids.lockId) } : {}),
    };
    try {
      const value = await run();
      emit(onEvent, { type, ...judge(value), durationMs: performance.now() - started, ...hashes });
      return value;
    } catch (error) {
      const errorCode = error instanceof LockError ? error.code : "Unknown";
      emit(onEvent, { type, result: "error", errorCode, durationMs: performance.now() - started, ...hashes });
      throw error;
    }
  }
  const okOrFail = (value: { ok: boolean }) => ({ result: value.ok ? ("ok" as const) : ("fail" as const) });
  return {
    capabilities: backend.capabilities,
    acquire: (opts) =>
      timed<AcquireHandle<C>>(
        "acquire",
        { key: opts.key },
        () => backend.acquire(opts),
        (r) => (r.ok ? { result: "ok" } : { result: "fail", reason: "locked" }),
      ),
    release: (opts) => timed("release", { lockId: opts.lockId }, () => backend.release(opts), okOrFail),
    extend: (opts) => timed("extend", { lockId: opts.lockId }, () => backend.extend(opts), okOrFail),
    isLocked: (opts) =>
      timed(
        "isLocked",
        { key: opts.key },
        () => backend.isLocked(opts),
        () => ({ result: "ok" }),
      ),
    lookup: (opts) =>
      timed(
        "lookup",
        opts,
        () => backend.lookup(opts),
        (info) => ({ result: info ? "ok" : "fail" }),
      ),
  };
}
