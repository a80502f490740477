import type { Stores } from "../stores/types.js";

/** Tenant ids of the source, sorted, so that a cursor can name "the tenant after X". */
export async function sortedTenantIds(stores: Stores): Promise<string[]> {
  return (await stores.tenants.list()).map((tenant) => tenant.id).sort();
}

/** Every device id of a tenant, sorted. */
export async function sortedDeviceIds(stores: Stores, tenant: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await stores.devices.list(tenant, { limit: 500, cursor });
    ids.push(...page.items.map((device) => device.id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids.sort();
}

/** The first element of `sorted` after `after` (or the first, when `after` is null). */
export function nextAfter(sorted: string[], after: string | null): string | undefined {
  return after === null ? sorted[0] : sorted.find((value) => value > after);
}
