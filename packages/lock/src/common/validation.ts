import { MAX_KEY_LENGTH_BYTES } from "./constants.js";
import { LockError } from "./errors.js";

const LOCK_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

// Messages are SyncGuard's, word for word: code written against it matches on them.

/**
 * NFC-normalizes a key and checks it is 1..512 UTF-8 bytes; throws `LockError("InvalidArgument")`.
 * Normalizing first makes "é" typed as one code point or as e + combining accent the same lock.
 */
export function normalizeAndValidateKey(key: string): string {
  if (typeof key !== "string") {
    throw new LockError("InvalidArgument", "Key must be a string");
  }
  if (key.length === 0) {
    throw new LockError("InvalidArgument", "Key must not be empty");
  }
  const normalized = key.normalize("NFC");
  if (Buffer.byteLength(normalized, "utf8") > MAX_KEY_LENGTH_BYTES) {
    throw new LockError(
      "InvalidArgument",
      `Key exceeds maximum length of ${MAX_KEY_LENGTH_BYTES} bytes after normalization`,
    );
  }
  return normalized;
}

/**
 * Checks a lockId is 22 base64url characters; throws `LockError("InvalidArgument")`. Returns it, so that
 * callers can validate and bind in one step (SyncGuard's returns nothing; code that ignores the value is
 * unaffected).
 */
export function validateLockId(lockId: string): string {
  if (typeof lockId !== "string" || !LOCK_ID_PATTERN.test(lockId)) {
    // SyncGuard echoes the value here; we describe it instead, so that a near-miss lockId (a release
    // capability with one character too many) never lands in a log.
    const got =
      typeof lockId !== "string" || lockId.length === 0
        ? "empty/null"
        : `${lockId.length} characters${/[^A-Za-z0-9_-]/.test(lockId) ? " incl. non-base64url" : ""}`;
    throw new LockError(
      "InvalidArgument",
      `Invalid lockId format. Expected 22 base64url characters, got: ${got}`,
    );
  }
  return lockId;
}

/** Checks a TTL is a positive whole number of milliseconds; throws `LockError("InvalidArgument")`. */
export function validateTtlMs(ttlMs: number): number {
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new LockError("InvalidArgument", "ttlMs must be a positive integer number of milliseconds");
  }
  return ttlMs;
}
