import { BoundedMap, entryOverhead } from "../bounded-map.js";
import type { TenantsStore } from "../stores/types.js";

/**
 * Whether a tenant exists, for the audit log, which writes nothing under a tenant that does not
 * (docs/design/tenancy.md). Tenants are never deleted, so a tenant found is remembered (bounded); one not
 * found is asked again each time, so that a tenant created on another instance counts at once. The
 * refusals that could ask often (unauthenticated ones) are budgeted per client address before this.
 * The tenants found are held in bytes (`maxBytes`, `FIREBRICK_CACHE_MEMORY_MIB`'s share), the least
 * recently asked dropped first (and asked again when next needed).
 *
 * @example
 * const tenants = new TenantDirectory(() => router.stores.tenants, { maxBytes: 2 ** 20 });
 * if (await tenants.exists(request.tenant)) await append();
 */
export class TenantDirectory {
  readonly #known: BoundedMap<string, true>;

  constructor(
    private readonly tenants: () => TenantsStore,
    options: { maxBytes: number },
  ) {
    this.#known = new BoundedMap({
      maxBytes: options.maxBytes,
      sizeOf: (_found, tenant) => entryOverhead(tenant),
    });
  }

  /** The bytes held, by estimate. */
  get bytes(): number {
    return this.#known.bytes;
  }

  async exists(tenant: string): Promise<boolean> {
    if (this.#known.get(tenant)) return true;
    const found = (await this.tenants().get(tenant)) !== null;
    if (found) this.#known.set(tenant, true);
    return found;
  }
}
