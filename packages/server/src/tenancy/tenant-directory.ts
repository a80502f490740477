import { BoundedMap } from "../bounded-map.js";
import type { TenantsStore } from "../stores/types.js";

/**
 * Whether a tenant exists, for the audit log, which writes nothing under a tenant that does not
 * (docs/design/tenancy.md). Tenants are never deleted, so a tenant found is remembered (bounded); one not
 * found is asked again each time, so that a tenant created on another instance counts at once. The
 * refusals that could ask often (unauthenticated ones) are budgeted per client address before this.
 *
 * @example
 * const tenants = new TenantDirectory(() => router.stores.tenants);
 * if (await tenants.exists(request.tenant)) await append();
 */
export class TenantDirectory {
  readonly #known = new BoundedMap<string, true>(10_000);

  constructor(private readonly tenants: () => TenantsStore) {}

  async exists(tenant: string): Promise<boolean> {
    if (this.#known.get(tenant)) return true;
    const found = (await this.tenants().get(tenant)) !== null;
    if (found) this.#known.set(tenant, true);
    return found;
  }
}
