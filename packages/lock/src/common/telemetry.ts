import { failureReasonOf } from "./backend-semantics.js";
import { hashKey } from "./crypto.js";
import { LockError } from "./errors.js";
import type {
  BackendCapabilities,
  KeyLookup,
  LockBackend,
  LockEvent,
  OwnershipLookup,
  TelemetryOptions,
} from "./types.js";

/** One backend operation, timed. Identifiers are hashed: events are meant for logs and metrics. */
export interface OperationEvent {
  type: "acquire" | "release" | "extend" | "isLocked" | "lookup";
  result: "ok" | "fail" | "error";
  /** Why a `fail` failed, where the backend can tell: a contended acquire is `locked`. */
  reason?: "locked" | "expired" | "not-found";
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

/** What this library's own listeners receive: timed operations and `lock()` runs. */
export type LockTelemetryEvent = OperationEvent | LockRunEvent;

export type LockEventListener = (event: LockTelemetryEvent) => void;

/** Calls the listener, never letting its failure reach the lock operation it observes. */
export function emit<E>(listener: ((event: E) => void) | undefined, event: E): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A broken metrics sink must not break locking.
  }
}

/**
 * Wraps a backend so that every operation is reported, in one of two forms:
 *
 * - `withTelemetry(backend, listener)`: this library's `OperationEvent`, with the duration, and an event for
 *   operations that threw (`result: "error"`, `errorCode`);
 * - `withTelemetry(backend, { onEvent, includeRaw })`: SyncGuard's `LockEvent`, exactly (no durations; raw
 *   key/lockId only when `includeRaw` allows).
 *
 * A listener that throws never breaks locking.
 *
 * @example
 * const backend = withTelemetry(createFirestoreBackend(db), (e) => histogram.observe({ op: e.type }, e.durationMs));
 */
export function withTelemetry<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  listener: LockEventListener | TelemetryOptions,
): LockBackend<C> {
  return typeof listener === "function" ? timed(backend, listener) : syncGuardEvents(backend, listener);
}

function timed<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  onEvent: LockEventListener,
): LockBackend<C> {
  async function run<T>(
    type: OperationEvent["type"],
    ids: { key?: string; lockId?: string },
    operation: () => Promise<T>,
    judge: (value: T) => Pick<OperationEvent, "result" | "reason">,
  ): Promise<T> {
    const started = performance.now();
    const hashes = {
      ...(typeof ids.key === "string" ? { keyHash: hashKey(ids.key) } : {}),
      ...(typeof ids.lockId === "string" ? { lockIdHash: hashKey(ids.lockId) } : {}),
    };
    try {
      const value = await operation();
      emit(onEvent, { type, ...judge(value), durationMs: performance.now() - started, ...hashes });
      return value;
    } catch (error) {
      const errorCode = error instanceof LockError ? error.code : "Unknown";
      emit(onEvent, { type, result: "error", errorCode, durationMs: performance.now() - started, ...hashes });
      throw error;
    }
  }
  const mutation = (value: { ok: boolean }): Pick<OperationEvent, "result" | "reason"> => {
    if (value.ok) return { result: "ok" };
    const reason = failureReasonOf(value);
    return reason ? { result: "fail", reason } : { result: "fail" };
  };
  return {
    capabilities: backend.capabilities,
    acquire: (opts) =>
      run(
        "acquire",
        { key: opts.key },
        () => backend.acquire(opts),
        (r) => (r.ok ? { result: "ok" } : { result: "fail", reason: "locked" }),
      ),
    release: (opts) => run("release", { lockId: opts.lockId }, () => backend.release(opts), mutation),
    extend: (opts) => run("extend", { lockId: opts.lockId }, () => backend.extend(opts), mutation),
    isLocked: (opts) =>
      run(
        "isLocked",
        { key: opts.key },
        () => backend.isLocked(opts),
        () => ({ result: "ok" }),
      ),
    lookup: (opts) =>
      run(
        "lookup",
        opts,
        () => backend.lookup(opts),
        (info) => ({ result: info ? "ok" : "fail" }),
      ),
  };
}

/** SyncGuard's decorator: one `LockEvent` per completed operation, hashed identifiers, raw ones on request. */
function syncGuardEvents<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  options: TelemetryOptions,
): LockBackend<C> {
  const includeRaw = (event: LockEvent): boolean => {
    if (typeof options.includeRaw !== "function") return options.includeRaw ?? false;
    try {
      return options.includeRaw(event);
    } catch {
      return false; // a failing predicate redacts
    }
  };
  const report = (event: LockEvent, raw: { key?: string; lockId?: string }) => {
    if (includeRaw(event)) Object.assign(event, raw);
    emit(options.onEvent, event);
  };
  const mutationEvent = (type: "release" | "extend", lockId: string, result: { ok: boolean }): LockEvent => {
    const event: LockEvent = { type, lockIdHash: hashKey(lockId), result: result.ok ? "ok" : "fail" };
    const reason = result.ok ? undefined : failureReasonOf(result);
    if (reason) event.reason = reason;
    return event;
  };
  return {
    capabilities: backend.capabilities,
    async acquire(opts) {
      const result = await backend.acquire(opts);
      const event: LockEvent = {
        type: "acquire",
        keyHash: hashKey(opts.key),
        result: result.ok ? "ok" : "fail",
      };
      if (!result.ok) event.reason = result.reason;
      report(event, result.ok ? { key: opts.key, lockId: result.lockId } : { key: opts.key });
      return result;
    },
    async release(opts) {
      const result = await backend.release(opts);
      report(mutationEvent("release", opts.lockId, result), { lockId: opts.lockId });
      return result;
    },
    async extend(opts) {
      const result = await backend.extend(opts);
      report(mutationEvent("extend", opts.lockId, result), { lockId: opts.lockId });
      return result;
    },
    async isLocked(opts) {
      const locked = await backend.isLocked(opts);
      report(
        { type: "isLocked", keyHash: hashKey(opts.key), result: locked ? "ok" : "fail" },
        { key: opts.key },
      );
      return locked;
    },
    async lookup(opts: KeyLookup | OwnershipLookup) {
      const info = await backend.lookup(opts);
      const result = info ? "ok" : "fail";
      if ("key" in opts) report({ type: "lookup", keyHash: hashKey(opts.key), result }, { key: opts.key });
      else report({ type: "lookup", lockIdHash: hashKey(opts.lockId), result }, { lockId: opts.lockId });
      return info;
    },
  };
}
