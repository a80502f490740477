import type { Firestore } from "@google-cloud/firestore";
import { BACKEND_LIMITS, RESERVE_BYTES } from "../common/constants.js";
import { makeStorageKey } from "../common/crypto.js";
import { defaultDisposalErrorHandler } from "../common/disposable.js";
import { LockError } from "../common/errors.js";
import { consoleLockLogger } from "../common/logger.js";
import type { BackendConfig, LockLogger, OnReleaseError, TimeAuthority } from "../common/types.js";

/** Firestore's document id limit in bytes; storage keys are ASCII, so bytes and characters agree. */
export const FIRESTORE_DOC_ID_LIMIT = BACKEND_LIMITS.FIRESTORE;

export interface FirestoreBackendOptions extends BackendConfig {
  /** Lock documents (default `locks`). */
  collection?: string;
  /** Fence counters (default `fence_counters`); must differ from `collection`. Never clean it up. */
  fenceCollection?: string;
  /** Let `isLocked()` delete an expired lock document it comes across, in the background (default false). */
  cleanupInIsLocked?: boolean;
  /**
   * Whose clock decides expiry (default `server`). `server`: Firestore's own time (the read time of the
   * snapshot every decision is made on), so no client clock offset, of any size, lets a second holder in
   * while a lease is live; `client`: each client's `Date.now()`, as SyncGuard does (NTP is then mandatory:
   * see `measureClockDrift`). ADR-017, docs/adr/ADR-017-firestore-server-time.md.
   */
  timeAuthority?: TimeAuthority;
  /**
   * How acquire guards its read-then-write (default `optimistic`): `optimistic` reads without a transaction
   * and commits writes conditioned on the documents' update times; `pessimistic` reads inside the
   * transaction, as the lock spec's reference does (racing acquirers then hold read locks and can stall each
   * other).
   */
  concurrency?: "optimistic" | "pessimistic";
  /** Receives fence-threshold and duplicate-lockId warnings (default: `console.warn`). */
  logger?: LockLogger;
  /**
   * The client clock (default `Date.now`). With `timeAuthority: "client"` it decides expiry; with `server` it
   * only expresses Firestore's times on this client's clock. Tests replace it to simulate time and skew.
   */
  now?: () => number;
  /**
   * Maps a Firestore read time (epoch ms) to the time `server` mode judges by (default: unchanged). Tests
   * only: Firestore's clock cannot be moved, so a test moves this instead.
   */
  serverClock?: (readTimeMs: number) => number;
}

export interface FirestoreContext {
  readonly db: Firestore;
  readonly collection: string;
  readonly fenceCollection: string;
  readonly cleanupInIsLocked: boolean;
  readonly timeAuthority: TimeAuthority;
  readonly concurrency: "optimistic" | "pessimistic";
  readonly logger: LockLogger;
  readonly now: () => number;
  readonly serverClock: (readTimeMs: number) => number;
  readonly onReleaseError: OnReleaseError;
  readonly disposeTimeoutMs: number | undefined;
}

/**
 * Validates the options and resolves defaults; throws `LockError("InvalidArgument")` before any I/O, so
 * that a misconfiguration (above all, fence counters sharing the lock collection, where cleanup would
 * delete them) fails at start-up.
 */
export function resolveFirestoreConfig(
  db: Firestore,
  options: FirestoreBackendOptions = {},
): FirestoreContext {
  if (!db || typeof (db as Partial<Firestore>).collection !== "function") {
    throw new LockError("InvalidArgument", "createFirestoreBackend needs a Firestore instance");
  }
  const collection = options.collection ?? "locks";
  const fenceCollection = options.fenceCollection ?? "fence_counters";
  validateCollectionPath(collection, "collection");
  validateCollectionPath(fenceCollection, "fenceCollection");
  if (collection === fenceCollection) {
    // SyncGuard's wording, which code written against it matches on.
    throw new LockError(
      "InvalidArgument",
      `fenceCollection must be different from collection to prevent accidental fence counter deletion (both set to: ${collection})`,
    );
  }
  // Cleanup deletes only documents of `collection` by id; with the two paths distinct and each a valid
  // collection path, no cleanup can reach a fence counter.
  const disposeTimeoutMs = options.disposeTimeoutMs;
  if (disposeTimeoutMs !== undefined && !(Number.isFinite(disposeTimeoutMs) && disposeTimeoutMs > 0)) {
    throw new LockError("InvalidArgument", "disposeTimeoutMs must be a positive number of milliseconds");
  }
  return {
    db,
    collection,
    fenceCollection,
    cleanupInIsLocked: options.cleanupInIsLocked ?? false,
    timeAuthority: oneOf(options.timeAuthority, ["server", "client"], "timeAuthority"),
    concurrency: oneOf(options.concurrency, ["optimistic", "pessimistic"], "concurrency"),
    logger: options.logger ?? consoleLockLogger,
    now: options.now ?? Date.now,
    serverClock: options.serverClock ?? ((readTimeMs) => readTimeMs),
    onReleaseError: options.onReleaseError ?? defaultDisposalErrorHandler,
    disposeTimeoutMs,
  };
}

/** The first of `allowed` when `value` is unset, `value` when it is one of them; else `InvalidArgument`. */
function oneOf<T extends string>(value: unknown, allowed: readonly [T, ...T[]], name: string): T {
  if (value === undefined) return allowed[0];
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  throw new LockError("InvalidArgument", `${name} must be ${allowed.map((a) => `"${a}"`).join(" or ")}`);
}

/** A collection path: an odd number of non-empty segments, none `.`, `..` or `__reserved__`. */
function validateCollectionPath(path: unknown, name: string): void {
  if (typeof path !== "string" || path.length === 0) {
    throw new LockError("InvalidArgument", `${name} must be a non-empty string`);
  }
  if (Buffer.byteLength(path, "utf8") > 6144) {
    throw new LockError("InvalidArgument", `${name} is too long`);
  }
  const segments = path.split("/");
  if (segments.length % 2 === 0) {
    throw new LockError("InvalidArgument", `${name} must name a collection, not a document: "${path}"`);
  }
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === ".." || /^__.*__$/.test(segment)) {
      throw new LockError("InvalidArgument", `${name} contains an invalid path segment: "${path}"`);
    }
    if (Buffer.byteLength(segment, "utf8") > FIRESTORE_DOC_ID_LIMIT) {
      throw new LockError("InvalidArgument", `${name} has a segment longer than 1500 bytes`);
    }
  }
}

/** The lock document id of a normalized key (ADR-006, docs/adr/ADR-006-storage-keys.md). */
export function lockDocumentId(key: string): string {
  return makeStorageKey("", key, FIRESTORE_DOC_ID_LIMIT, RESERVE_BYTES.FIRESTORE);
}

/** The fence counter document id: the two-step derivation from the same storage key (docs/adr/ADR-006-storage-keys.md). */
export function fenceDocumentId(key: string): string {
  const baseKey = lockDocumentId(key);
  return makeStorageKey("", `fence:${baseKey}`, FIRESTORE_DOC_ID_LIMIT, RESERVE_BYTES.FIRESTORE);
}
