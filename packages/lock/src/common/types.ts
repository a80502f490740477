/** What a backend guarantees; parameterizes result types so that `fence` is typed where it exists. */
export interface BackendCapabilities {
  backend: string;
  supportsFencing: boolean;
  /** Whose clock decides expiry: `client` means every client's `Date.now()`, hence NTP is mandatory. */
  timeAuthority: "server" | "client";
}

export interface FirestoreCapabilities extends BackendCapabilities {
  backend: "firestore";
  supportsFencing: true;
  timeAuthority: "client";
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
export type KeyLookup = Readonly<{ key: string; signal?: AbortSignal }>;
export type OwnershipLookup = Readonly<{ lockId: string; signal?: AbortSignal }>;

export type AcquireOk<C extends BackendCapabilities> = {
  ok: true;
  lockId: string;
  expiresAtMs: number;
} & (C["supportsFencing"] extends true ? { fence: Fence } : { fence?: undefined });

export type AcquireResult<C extends BackendCapabilities> = AcquireOk<C> | { ok: false; reason: "locked" };

/** An acquire result that releases itself at the end of an `await using` block. */
export type AcquireHandle<C extends BackendCapabilities> = AsyncDisposable &
  (
    | (AcquireOk<C> & {
        release(signal?: AbortSignal): Promise<ReleaseResult>;
        extend(ttlMs: number, signal?: AbortSignal): Promise<ExtendResult>;
      })
    | { ok: false; reason: "locked" }
  );

/** No distinction between expired and not found: the caller cannot act on it differently. */
export type ReleaseResult = { ok: true } | { ok: false };

/** `expiresAtMs` is authoritative (computed by the backend), for scheduling the next heartbeat. */
export type ExtendResult = { ok: true; expiresAtMs: number } | { ok: false };

/** What `lookup()` returns: hashed identifiers only, so that it can be logged safely. */
export type LockInfo<C extends BackendCapabilities> = {
  keyHash: HashId;
  lockIdHash: HashId;
  expiresAtMs: number;
  acquiredAtMs: number;
} & (C["supportsFencing"] extends true ? { fence: Fence } : { fence?: undefined });

/** The operator view of a live lock: the raw key (to act on it), never the raw lockId (a release capability). */
export type LockListing<C extends BackendCapabilities> = LockInfo<C> & { key: string };

export interface LockBackend<C extends BackendCapabilities = BackendCapabilities> {
  /** Takes the lock if no live holder exists; a single attempt (retries belong to `lock()`). */
  acquire(opts: KeyOp & { ttlMs: number }): Promise<AcquireHandle<C>>;
  /** Releases by lockId; `{ ok: false }` when not held by that lockId or already expired. */
  release(opts: LockOp): Promise<ReleaseResult>;
  /** Resets the TTL to `ttlMs` from now (not added to the remainder); refused once expired. */
  extend(opts: LockOp & { ttlMs: number }): Promise<ExtendResult>;
  /** Whether the key is held by a live lock; read-only unless `cleanupInIsLocked`. */
  isLocked(opts: KeyOp): Promise<boolean>;
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
