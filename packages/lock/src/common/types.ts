/**
 * Whose clock decides expiry. `client`: every client's `Date.now()` (NTP is then mandatory, see the drift
 * checks); `server`: the storage's own clock (Firestore's read and commit timestamps), so that no client
 * clock offset matters (ADR-017, docs/adr/ADR-017-firestore-server-time.md).
 */
export type TimeAuthority = "server" | "client";

/** What a backend guarantees; parameterizes result types so that `fence` is typed where it exists. */
export interface BackendCapabilities {
  /** Backend type discriminant (`firestore`, `sqlite`); optional so that SyncGuard-style custom backends fit. */
  backend?: string;
  supportsFencing: boolean;
  timeAuthority: TimeAuthority;
}

export interface FirestoreCapabilities extends BackendCapabilities {
  backend: "firestore";
  supportsFencing: true;
  timeAuthority: TimeAuthority;
}

export interface SqliteCapabilities extends BackendCapabilities {
  backend: "sqlite";
  supportsFencing: true;
  timeAuthority: "client";
}

/** A 15-digit zero-padded decimal string, strictly increasing per key; compare as strings or with `compareFences`. */
export type Fence = string;

/** 24 hex characters of SHA-256: a key or lockId that can be logged. */
export type HashId = string;

export type KeyOp = Readonly<{ key: string; signal?: AbortSignal }>;
export type LockOp = Readonly<{ lockId: string; signal?: AbortSignal }>;
export type KeyLookup = { key: string; signal?: AbortSignal };
export type OwnershipLookup = { lockId: string; signal?: AbortSignal };

export type AcquireOk<C extends BackendCapabilities> = {
  ok: true;
  lockId: string;
  /**
   * When the lock expires, on the caller's own clock: `expiresAtMs - Date.now()` is the time left (with
   * server time, a conservative translation of Firestore's expiry into this client's clock; see the README).
   */
  expiresAtMs: number;
} & (C["supportsFencing"] extends true ? { fence: Fence } : { fence?: undefined });

export type AcquireResult<C extends BackendCapabilities> = AcquireOk<C> | { ok: false; reason: "locked" };

/** No distinction between expired and not found: the caller cannot act on it differently. */
export type ReleaseResult = { ok: true } | { ok: false };

/** `expiresAtMs` is authoritative (computed by the backend, on the caller's clock), for scheduling the next heartbeat. */
export type ExtendResult = { ok: true; expiresAtMs: number } | { ok: false };

/**
 * What `backend.acquire()` returns: the result with `release()`, `extend()` and `Symbol.asyncDispose`, so
 * that `await using lock = await backend.acquire(…)` releases at the end of the block, even on a throw. A
 * failed acquisition carries no-op methods.
 */
export type DecoratedAcquireResult<C extends BackendCapabilities> =
  | (AcquireOk<C> & {
      release(signal?: AbortSignal): Promise<ReleaseResult>;
      extend(ttlMs: number, signal?: AbortSignal): Promise<ExtendResult>;
      [Symbol.asyncDispose](): Promise<void>;
    })
  | ({ ok: false; reason: "locked" } & {
      release(signal?: AbortSignal): Promise<ReleaseResult>;
      extend(ttlMs: number, signal?: AbortSignal): Promise<ExtendResult>;
      [Symbol.asyncDispose](): Promise<void>;
    });

/** The name this library used before 1.0 for `DecoratedAcquireResult`. */
export type AcquireHandle<C extends BackendCapabilities> = DecoratedAcquireResult<C>;

/** What `lookup()` returns: hashed identifiers only, so that it can be logged safely. Times are on the caller's clock. */
export type LockInfo<C extends BackendCapabilities> = {
  keyHash: HashId;
  lockIdHash: HashId;
  expiresAtMs: number;
  acquiredAtMs: number;
} & (C["supportsFencing"] extends true ? { fence: Fence } : { fence?: undefined });

/** `LockInfo` with the raw key and lockId (`getByKeyRaw`/`getByIdRaw`): for debugging only, never for logs. */
export type LockInfoDebug<C extends BackendCapabilities> = LockInfo<C> & { key: string; lockId: string };

/** The operator view of a live lock: the raw key (to act on it), never the raw lockId (a release capability). */
export type LockListing<C extends BackendCapabilities> = LockInfo<C> & { key: string };

/**
 * Called when an automatic release (`await using`, or the release after `lock()`'s function) fails; the lock
 * then expires at its TTL. Manual `release()` calls throw instead.
 */
export type OnReleaseError = (
  error: Error,
  context: { lockId: string; key: string; source: "disposal" },
) => void;

/** Options every backend accepts for the handles its `acquire()` returns. */
export interface BackendConfig {
  /** Receives automatic-release failures (default: logged to stderr outside production). */
  onReleaseError?: OnReleaseError;
  /** Bound on how long an automatic release may take before disposal gives up waiting (default: none). */
  disposeTimeoutMs?: number;
}

export interface LockBackend<C extends BackendCapabilities = BackendCapabilities> {
  /** Takes the lock if no live holder exists; a single attempt (retries belong to `lock()`). */
  acquire(opts: KeyOp & { ttlMs: number }): Promise<DecoratedAcquireResult<C>>;
  /** Releases by lockId; `{ ok: false }` when not held by that lockId or already expired. */
  release(opts: LockOp): Promise<ReleaseResult>;
  /** Resets the TTL to `ttlMs` from now (not added to the remainder); refused once expired. */
  extend(opts: LockOp & { ttlMs: number }): Promise<ExtendResult>;
  /** Whether the key is held by a live lock; read-only unless `cleanupInIsLocked`. */
  isLocked(opts: KeyOp): Promise<boolean>;
  /** By key: one direct read. By lockId: an indexed query, ownership re-checked. */
  lookup(opts: KeyLookup | OwnershipLookup): Promise<LockInfo<C> | null>;
  readonly capabilities: Readonly<C>;
}

/** Operator functions behind `firebrick locks`: list, inspect and force-release live locks. */
export interface LockAdmin<C extends BackendCapabilities = BackendCapabilities> {
  /** Live locks, soonest expiry first, at most `limit` (default 100). */
  list(opts?: { limit?: number; signal?: AbortSignal }): Promise<LockListing<C>[]>;
  /** One live lock by key, with its raw key. */
  inspect(opts: KeyOp): Promise<LockListing<C> | null>;
  /**
   * Deletes the lock document of a key, whoever holds it; its fence counter stays, so the next holder gets a
   * higher fence and the evicted holder's fenced writes are rejected.
   */
  forceRelease(opts: KeyOp): Promise<ReleaseResult>;
}

/** Where backends report conditions an operator should see (fence near overflow, duplicate lockIds). */
export interface LockLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

/** `lock()`'s acquisition loop. */
export interface AcquisitionOptions {
  /** Retries after the first attempt (default 10). */
  maxRetries?: number;
  /** Base delay between attempts (default 100 ms). */
  retryDelayMs?: number;
  backoff?: "exponential" | "fixed";
  /** `equal` waits between half and all of the delay, `full` between none and all (default `equal`). */
  jitter?: "equal" | "full" | "none";
  /** Give up with `LockError("AcquisitionTimeout")` after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Aborts the acquisition loop only (the caller's `signal` aborts everything). */
  signal?: AbortSignal;
}

/** SyncGuard's telemetry event (`withTelemetry(backend, { onEvent })`): hashes by default, raw ids on request. */
export type LockEvent = {
  type: string;
  keyHash?: HashId;
  lockIdHash?: HashId;
  result: "ok" | "fail";
  /** Best-effort: `locked` for a contended acquire, `expired` or `not-found` for a refused release/extend. */
  reason?: "expired" | "not-found" | "locked";
  key?: string;
  lockId?: string;
};

/** SyncGuard's telemetry options. */
export interface TelemetryOptions {
  onEvent: (event: LockEvent) => void;
  /** Put the raw key/lockId into events (default false): a boolean, or a predicate per event. */
  includeRaw?: boolean | ((event: LockEvent) => boolean);
}
