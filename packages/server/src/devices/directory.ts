import { BoundedMap, entryOverhead } from "../bounded-map.js";
import type { Clock, Device, DevicesStore, TenantId } from "../stores/types.js";

/** How long a device is trusted while the change feed is not heard (and the longest it ever is without one). */
export const SHORT_TTL_MS = 10_000;
/** How long a device is trusted while the change feed is heard: a rotation or deletion arrives through it. */
export const LONG_TTL_MS = 5 * 60_000;

interface Entry {
  device: Device;
  fetchedAt: number;
}

/**
 * Device lookups for the hot paths (every telemetry read and write checks the device first), cached so
 * that a device writing at its pace does not bill a read per write (docs/design/devices.md):
 *
 * - while the fleet's change feed is heard (`feedHealthy`), a device is trusted for `LONG_TTL_MS` (5
 *   minutes): a rotated or deleted token is announced on the feed, and every instance forgets the device
 *   within the feed's delay (`forget`). At the default pace (a write every 12 s) that is one read per 25
 *   writes;
 * - while it is not (not yet established, or failed), only for `SHORT_TTL_MS` (10 s), as before the feed
 *   existed; a device fetched before the feed was last established is held to the short time too;
 * - a lookup that was in flight while any device changed is not kept: it may have read the old token.
 *
 * Entries are bounded in bytes (`maxBytes`), the least recently used dropped first. A device is held as
 * a copy of one shape (`held`): the stores' rows, spread into objects of their own, each carried a hidden
 * class of its own (≈ 360 bytes a device more on the heap).
 */
export class DeviceDirectory {
  readonly #cache: BoundedMap<string, Entry>;
  /** Since when the change feed has been heard without interruption; null while it is not. */
  #heardSince: number | null = null;
  /** Bumped by every change heard: a lookup that saw it bump in flight is not kept. */
  #changes = 0;

  constructor(
    private readonly devices: () => DevicesStore,
    private readonly clock: Clock,
    maxBytes: number,
  ) {
    this.#cache = new BoundedMap({ maxBytes, sizeOf: entrySize });
  }

  /** Devices held, and the bytes they take by estimate. */
  get held(): { devices: number; bytes: number } {
    return { devices: this.#cache.size, bytes: this.#cache.bytes };
  }

  async get(tenant: TenantId, id: string): Promise<Device | null> {
    const key = keyOf(tenant, id);
    const now = this.clock();
    const cached = this.#cache.get(key);
    if (cached && this.#trusted(cached, now)) return cached.device;
    const changes = this.#changes;
    const device = await this.devices().get(tenant, id);
    if (device && changes === this.#changes) this.#cache.set(key, { device: held(device), fetchedAt: now });
    else this.#cache.delete(key);
    return device;
  }

  /** A device changed (its token rotated, or it was deleted), here or on another instance. */
  forget(tenant: TenantId, id: string): void {
    this.#changes += 1;
    this.#cache.delete(keyOf(tenant, id));
  }

  clear(): void {
    this.#changes += 1;
    this.#cache.clear();
  }

  /** Whether the change feed is heard now (the fleet state's watch reports it). */
  feedHealthy(healthy: boolean): void {
    if (!healthy) this.#heardSince = null;
    else if (this.#heardSince === null) this.#heardSince = this.clock();
  }

  #trusted(entry: Entry, now: number): boolean {
    const age = now - entry.fetchedAt;
    if (age < SHORT_TTL_MS) return true;
    return this.#heardSince !== null && entry.fetchedAt >= this.#heardSince && age < LONG_TTL_MS;
  }
}

function keyOf(tenant: TenantId, id: string): string {
  return `${tenant}\u0000${id}`;
}

/** The device as held: every field named, in one order, so that every device held shares one shape. */
function held(device: Device): Device {
  const { site, building, floor, zone } = device.location;
  return {
    id: device.id,
    tenant_id: device.tenant_id,
    name: device.name,
    token_hash: device.token_hash,
    created_at: device.created_at,
    token_rotated_at: device.token_rotated_at,
    location: { site, building, floor, zone },
    points: device.points,
    last_seen_ms: device.last_seen_ms,
  };
}

/**
 * An entry's bytes, by estimate (measured against the heap in bench/children/structure-sizes.ts): the
 * entry, the device and its location (≈ 240 bytes with their numbers), the device's strings and its
 * point definitions as JSON.
 */
function entrySize(entry: Entry, key: string): number {
  const { device } = entry;
  const { site, building, floor, zone } = device.location;
  let strings = device.id.length + device.tenant_id.length + device.name.length + device.token_hash.length;
  for (const part of [site, building, floor, zone]) if (part !== null) strings += 24 + part.length;
  const points = Object.keys(device.points).length === 0 ? 0 : JSON.stringify(device.points).length * 3;
  return entryOverhead(key) + 240 + 2 * strings + points;
}
