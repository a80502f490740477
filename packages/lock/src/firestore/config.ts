import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import { makeStorageKey } from "../common/crypto.js";
import { LockError } from "../common/errors.js";
import { consoleLockLogger } from "../common/logger.js";
import type { LockLogger } from "../common/types.js";

/** Firestore's document id limit in bytes; storage keys are ASCII, so bytes and characters agree. */
export const FIRESTORE_DOC_ID_LIMIT = 1500;

export interface FirestoreBackendOptions {
  /** Lock documents (default `locks`). */
  collection?: string;
  /** Fence counters (default `fence_counters`); must differ from `collection`. Never clean it up. */
  fenceCollection?: string;
  /** Let `isLocked()` delete an expired lock document it comes across, in the background (default false). */
  cleanupInIsLocked?: boolean;
  /**
   * How acquire guards its read-then-write (default `optimistic`): `optimistic` reads without a transaction
   * and commits writes conditioned on the documents' update times; `pessimistic` reads inside the
   * transaction, as the seed spec does (racing acquirers then hold read locks and can stall each other).
   */
  concurrency?: "optimistic" | "pessimistic";
  /** Receives fence-threshold and duplicate-lockId warnings (default: `console.warn`). */
  logger?: LockLogger;
  /**
   * The client clock (default `Date.now`). Only tests replace it; production relies on NTP-synchronised
   * clocks, see the README's clock-synchronisation requirements.
   */
  now?: () => number;
}

export interface FirestoreContext {
  readonly db: Firestore;
  /** Where this process put the locks it acquired (see `LockIdHints`). */
  readonly hints: LockIdHints;
  readonly collection: string;
  readonly fenceCollection: string;
  readonly cleanupInIsLocked: boolean;
  readonly concurrency: "optimistic" | "pessimistic";
  readonly logger: LockLogger;
  readonly now: () => number;
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
    throw new LockError("InvalidArgument", "Fence counter collection must differ from lock collection");
  }
  // Cleanup deletes only documents of `collection` by id; with the two paths distinct and each a valid
  // collection path, no cleanup can reach a fence counter.
  return {
    db,
    hints: new LockIdHints(),
    collection,
    fenceCollection,
    cleanupInIsLocked: options.cleanupInIsLocked ?? false,
    concurrency: resolveConcurrency(options.concurrency),
    logger: options.logger ?? consoleLockLogger,
    now: options.now ?? Date.now,
  };
}

function resolveConcurrency(value: unknown): "optimistic" | "pessimistic" {
  if (value === undefined || value === "optimistic" || value === "pessimistic") return value ?? "optimistic";
  throw new LockError("InvalidArgument", 'concurrency must be "optimistic" or "pessimistic"');
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

/** The lock document id of a normalized key (spec: makeStorageKey with 0 reserve bytes). */
export function lockDocumentId(key: string): string {
  return makeStorageKey("", key, FIRESTORE_DOC_ID_LIMIT, 0);
}

/** The fence counter document id: the spec's two-step derivation from the same storage key. */
export function fenceDocumentId(key: string): string {
  const baseKey = makeStorageKey("", key, FIRESTORE_DOC_ID_LIMIT, 0);
  return makeStorageKey("", `fence:${baseKey}`, FIRESTORE_DOC_ID_LIMIT, 0);
}

/**
 * lockId → lock document, for the locks this backend instance acquired. A lockId is written to exactly one
 * document (the one acquire created), so release and extend can go straight to it and skip the lockId
 * query; the transaction still re-reads the document and checks `lockId` and liveness, so a stale hint only
 * costs a `{ ok: false }`. A lockId released elsewhere, or one this process never saw, takes the query
 * path. Bounded: the oldest hints go first.
 */
export class LockIdHints {
  private readonly refs = new Map<string, DocumentReference>();
  constructor(private readonly capacity = 10_000) {}

  remember(lockId: string, ref: DocumentReference): void {
    this.refs.set(lockId, ref);
    if (this.refs.size > this.capacity) {
      const oldest = this.refs.keys().next().value;
      if (oldest !== undefined) this.refs.delete(oldest);
    }
  }

  get(lockId: string): DocumentReference | undefined {
    return this.refs.get(lockId);
  }

  forget(lockId: string): void {
    this.refs.delete(lockId);
  }
}
