/** A lock document in the `locks` collection, keyed by the storage key of `key`. */
export interface LockDocument {
  lockId: string;
  /** On the time authority's clock: Firestore's (server time) or the writing client's (client time). */
  expiresAtMs: number;
  acquiredAtMs: number;
  /** The NFC-normalized key as the caller gave it; the document id is only its encoding. */
  key: string;
  fence: string;
}

/** A fence counter in the `fence_counters` collection. Never deleted, never given a TTL. */
export interface FenceCounterDocument {
  fence: string;
  keyDebug?: string;
}
