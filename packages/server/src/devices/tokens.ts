import { timingSafeEqual } from "node:crypto";
import { newOpaqueToken, tokenHash } from "../sessions/tokens.js";
import type { Device } from "../stores/types.js";

/** Device tokens start with this, so that a leaked one is recognisable (secret scanners, logs). */
export const DEVICE_TOKEN_PREFIX = "fbd_";

/**
 * A new device bearer token (docs/design/devices.md): shown once, stored only as its SHA-256.
 *
 * @example
 * const { token, hash } = newDeviceToken();
 * await stores.devices.create(tenant, { name, token_hash: hash });
 */
export function newDeviceToken(): { token: string; hash: string } {
  const token = newOpaqueToken(DEVICE_TOKEN_PREFIX);
  return { token, hash: tokenHash(token) };
}

/** Whether `token` is the device's, compared in constant time. */
export function isDeviceToken(device: Device, token: string): boolean {
  const presented = Buffer.from(tokenHash(token), "hex");
  const expected = Buffer.from(device.token_hash, "hex");
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
