import { BoundedMap } from "../bounded-map.js";
import {
  type Clock,
  DEFAULT_TIME_ZONE,
  type TenantId,
  type TenantsStore,
  type TenantZone,
} from "../stores/types.js";

const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

/**
 * Tenants' time zones for trend queries: every `1d` query needs its tenant's, so found zones are kept
 * 10 s. The zone lives in the tenants store, so every instance agrees: a change made on this instance
 * applies here at once, on the others within 10 s.
 *
 * @example
 * const zones = new TenantTimeZones(() => router.stores.tenants, clock);
 * const { timeZone } = await zones.of("acme"); // "Europe/Paris"
 */
export class TenantTimeZones {
  readonly #cache = new BoundedMap<string, { zone: TenantZone; at: number }>(CACHE_MAX);

  constructor(
    private readonly tenants: () => TenantsStore,
    private readonly clock: Clock,
  ) {}

  async of(tenant: TenantId): Promise<TenantZone> {
    const now = this.clock();
    const cached = this.#cache.get(tenant);
    if (cached && now - cached.at < CACHE_MS) return cached.zone;
    const record = await this.tenants().get(tenant);
    const zone = record
      ? { timeZone: record.time_zone, timeZoneSince: record.time_zone_since }
      : { timeZone: DEFAULT_TIME_ZONE, timeZoneSince: 0 };
    this.#cache.set(tenant, { zone, at: now });
    return zone;
  }

  forget(tenant: TenantId): void {
    this.#cache.delete(tenant);
  }

  clear(): void {
    this.#cache.clear();
  }
}
