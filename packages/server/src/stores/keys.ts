import { createHash } from "node:crypto";

/**
 * Identities shared by both backends. They are pure functions of the domain values, so that a cursor
 * or an id made by one backend means the same thing to the other after a cutover.
 */

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Users and devices carry lower-case UUIDv4 ids; anything else cannot name one of them. */
export function isUuidV4(id: string): boolean {
  return UUID_V4.test(id);
}

/** Session ids are the SHA-256 (lower-case hex) of the session token. */
export function isSha256Hex(id: string): boolean {
  return SHA256_HEX.test(id);
}

/**
 * The key usernames are unique on, per tenant: NFC so that "é" typed composed or decomposed is one
 * name, lower-cased so that "Alice" and "alice" are one name.
 */
export function usernameKey(username: string): string {
  return username.normalize("NFC").toLowerCase();
}

/**
 * Tenant ids become Firestore document ids and header values: a short, plain slug keeps both safe.
 */
export function isTenantId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(id);
}

/**
 * A telemetry point's identity, (tenant, device, timestamp_ms), as a document id. Hashed, so that ids
 * of consecutive points are not adjacent (Firestore hotspots on monotonic ids), and deterministic, so
 * that writing a point again overwrites it.
 */
export function telemetryPointId(tenant: string, deviceId: string, timestampMs: number): string {
  return sha256(`telemetry\u0000${tenant}\u0000${deviceId}\u0000${timestampMs}`).slice(0, 40);
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Positive whole numbers only: a limit of 0, a fraction or NaN is a caller's bug. */
export function assertLimit(limit: number, max = 10_000): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new RangeError(`limit must be an integer from 1 to ${max}, got ${limit}`);
  }
}

/** Epoch milliseconds must be whole numbers: Firestore and SQLite both order them as integers. */
export function assertEpochMs(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be integer epoch milliseconds`);
}
