/** Longest key accepted, in UTF-8 bytes after NFC normalization (spec: key limits). */
export const MAX_KEY_LENGTH_BYTES = 512;

/** Number of decimal digits of a fence token; fences compare correctly as strings (ADR-004, docs/adr/ADR-004-fence-tokens.md). */
export const FENCE_DIGITS = 15;

/**
 * Fence overflow thresholds (ADR-004, docs/adr/ADR-004-fence-tokens.md). Past `WARN` every acquire logs a
 * warning; past `MAX` acquire fails with `LockError("Internal")` rather than hand out a token that could
 * wrap or lose precision.
 */
export const FENCE_THRESHOLDS = {
  MAX: "900000000000000",
  WARN: "090000000000000",
} as const;

/**
 * Storage identifier limits in bytes, as SyncGuard declares them (its Redis and PostgreSQL entries are
 * kept so that code written against it keeps compiling). Firestore's is its document id limit.
 */
export const BACKEND_LIMITS = {
  REDIS: 1000,
  POSTGRES: 1700,
  FIRESTORE: 1500,
} as const;

/**
 * Bytes a backend keeps free in a storage key for suffixes of keys derived from it. Firestore derives
 * none (lock and fence documents have independent ids), hence 0; the others are SyncGuard's values.
 */
export const RESERVE_BYTES = {
  REDIS: 26,
  POSTGRES: 0,
  FIRESTORE: 0,
} as const;

/** Backend defaults: backends make single attempts, retries live in `lock()`. */
export const BACKEND_DEFAULTS = {
  ttlMs: 30_000,
} as const;

/** Defaults of the `lock()` helper's acquisition loop. */
export const LOCK_DEFAULTS = {
  maxRetries: 10,
  retryDelayMs: 100,
  timeoutMs: 5_000,
  backoff: "exponential",
  jitter: "equal",
} as const;

/** Upper bound on automatic extensions when `autoExtend` names none, so that a hung task cannot hold forever. */
export const DEFAULT_MAX_EXTENSIONS = 1_000;
