import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The header that carries the body's HMAC-SHA256, as `sha256=<hex>`. */
export const SIGNATURE_HEADER = "x-firebrick-signature";
/** The header that carries the delivery's id (also in the body as `id`): the receiver's deduplication key. */
export const DELIVERY_HEADER = "x-firebrick-delivery";

/** A new signing secret: 32 random bytes, shown to the admin once. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

/**
 * The signature header's value for a body: HMAC-SHA256 of the raw bytes under the secret (docs/design/webhooks.md).
 *
 * @example
 * request.setHeader(SIGNATURE_HEADER, signBody(secret, body));
 */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/**
 * What a receiver does with the header: recompute it over the raw body and compare in constant time.
 *
 * @example
 * if (!verifySignature(secret, rawBody, request.headers["x-firebrick-signature"])) reply.code(401);
 */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
