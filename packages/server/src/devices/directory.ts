import { BoundedMap } from "../bounded-map.js";
import type { Clock, Device, DevicesStore, TenantId } from "../stores/types.js";

const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

/**
 * Device lookups for the hot paths (every telemetry read and write checks the device first). Found
 * devices are cached for 10 s so that a steady stream of writes does not bill an extra read each time;
 * rotation and deletion on this instance drop the entry at once, on other instances within 10 s.
 */
export class DeviceDirectory {
  readonly #cache = new BoundedMap<string, { device: Device; at: number }>(CACHE_MAX);

  constructor(
    private readonly devices: () => DevicesStore,
    private readonly clock: Clock,
  ) {}

  async get(tenant: TenantId, id: string): Promise<Device | null> {
    const key = `${tenant}\u0000${id}`;
    const now = this.clock();
    const cached = this.#cache.get(key);
    if (cached && now - cached.at < CACHE_MS) return cached.device;
    const device = await this.devices().get(tenant, id);
    if (device) this.#cache.set(key, { device, at: now });
    else this.#cache.delete(key);
    return device;
  }

  forget(tenant: TenantId, id: string): void {
    this.#cache.delete(`${tenant}\u0000${id}`);
  }

  clear(): void {
    this.#cache.clear();
  }
}
