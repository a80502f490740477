import { MAX_KEY_LENGTH_BYTES } from "./constants.js";
import { LockError } from "./errors.js";

const LOCK_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * NFC-normalizes a key and checks it is 1..512 UTF-8 bytes; throws `LockError("InvalidArgument")`.
 * Normalizing first makes "é" typed as one code point or as e + combining accent the same lock.
 */
export function normalizeAndValidateKey(key: unknown): string {
  if (typeof key !== "string") {
    throw new LockError("InvalidArgument", "Key must be a string");
  }
  const normalized = key.normalize("NFC");
  if (normalized.length === 0) {
    throw new LockError("InvalidArgument", "Key must not be empty");
  }
  if (Buffer.byteLength(normalized, "utf8") > MAX_KEY_LENGTH_BYTES) {
    throw new LockError(
      "InvalidArgument",
      `Key exceeds ${MAX_KEY_LENGTH_BYTES} bytes after NFC normalization`,
    );
  }
  return normalized;
}

/** Checks a lockId is 22 base64url characters; throws `LockError("InvalidArgument")`. */
export function validateLockId(lockId: unknown): string {
  if (typeof lockId !== "string" || !LOCK_ID_PATTERN.test(lockId)) {
    throw new LockError("InvalidArgument", "lockId must be 22 base64url characters");
  }
  return lockId;
}

/** Checks a TTL is a positive whole number of milliseconds; throws `LockError("InvalidArgument")`. */
export function validateTtlMs(ttlMs: unknown): number {
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new LockError("InvalidArgument", "ttlMs must be a positive integer number of milliseconds");
  }
  return ttlMs;
}
