import { createHash, randomBytes } from "node:crypto";

/** A new opaque 256-bit secret, base64url (43 characters). Sessions and device tokens both use it. */
export function newOpaqueToken(prefix = ""): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

/** What the stores keep instead of a token: its SHA-256, hex. A leaked table cannot be replayed. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
