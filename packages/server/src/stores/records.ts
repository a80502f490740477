import { randomUUID } from "node:crypto";
import { isUuidV4 } from "./keys.js";
import { type Device, type NewUser, NO_LOCATION, type TenantId, type User } from "./types.js";

/** The stored user a `create` writes, the same on both backends (an explicit id must be a UUIDv4). */
export function newUserRecord(tenant: TenantId, user: NewUser, now: number): User {
  if (user.id !== undefined && !isUuidV4(user.id)) throw new RangeError("user id must be a UUIDv4");
  return {
    id: user.id ?? randomUUID(),
    tenant_id: tenant,
    username: user.username,
    role: user.role,
    password_hash: user.password_hash,
    algo_params: user.algo_params,
    needs_rehash: user.needs_rehash ?? false,
    created_at: now,
    updated_at: now,
  };
}

/** The stored device a `create` writes, the same on both backends (an explicit id must be a UUIDv4). */
export function newDeviceRecord(
  tenant: TenantId,
  device: { id?: string; name: string; token_hash: string },
  now: number,
): Device {
  if (device.id !== undefined && !isUuidV4(device.id)) throw new RangeError("device id must be a UUIDv4");
  return {
    id: device.id ?? randomUUID(),
    tenant_id: tenant,
    name: device.name,
    token_hash: device.token_hash,
    created_at: now,
    token_rotated_at: now,
    location: { ...NO_LOCATION },
    points: {},
    last_seen_ms: null,
  };
}
