import { createHash } from "node:crypto";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuidV4(id: string): boolean {
  return UUID_V4.test(id);
}

/**
 * Keeps a UUIDv4 as it is; maps any other legacy id to a UUIDv4 derived from (tenant, kind, id), so that
 * re-running a migration gives every row the same new id and writes nothing twice.
 */
export function ensureUuidV4(tenant: string, kind: string, id: string): string {
  if (isUuidV4(id)) return id.toLowerCase();
  const bytes = createHash("sha256").update(`${tenant}\u0000${kind}\u0000${id}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
