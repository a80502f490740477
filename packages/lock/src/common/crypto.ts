import { createHash, randomBytes } from "node:crypto";
import { LockError } from "./errors.js";

/** A fresh lockId: 16 CSPRNG bytes as 22 base64url characters (128 bits, so duplicates never happen by chance). */
export function generateLockId(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * A 96-bit SHA-256 digest (24 hex characters) of an NFC-normalized value, for logs and `lookup()`
 * output, where the raw key or lockId must not appear (a lockId is a release capability).
 */
export function hashKey(value: string): string {
  return createHash("sha256").update(value.normalize("NFC"), "utf8").digest("hex").slice(0, 24);
}

/**
 * Maps a normalized key to a storage key that is always a valid identifier for the backend (ADR-006,
 * docs/adr/ADR-006-storage-keys.md).
 *
 * The key is base64url-encoded behind a `k` marker, so the result is injective, never contains `/`,
 * is never `.` or `..`, and never matches Firestore's reserved `__…__` form (the raw key as a document
 * id breaks on all of these). Should the encoding not fit in `backendLimit - reserveBytes`, the key is
 * replaced by its full SHA-256 behind an `h` marker, which cannot collide with an encoded key.
 */
export function makeStorageKey(
  prefix: string,
  key: string,
  backendLimit: number,
  reserveBytes: number,
): string {
  const budget = backendLimit - reserveBytes;
  const encoded = `${prefix}k${Buffer.from(key, "utf8").toString("base64url")}`;
  if (encoded.length <= budget) return encoded;
  const hashed = `${prefix}h${createHash("sha256").update(key, "utf8").digest("hex")}`;
  if (hashed.length > budget) {
    throw new LockError("InvalidArgument", "Key exceeds backend limits even after hashing");
  }
  return hashed;
}
