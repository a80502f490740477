import { describe, expect, it } from "vitest";
import type { TenantsStore } from "../stores/types.js";
import { TenantDirectory } from "./tenant-directory.js";

/** A tenants store of the given tenants that counts its reads. */
function countingTenants(ids: string[]) {
  const store = {
    reads: 0,
    async get(id: string) {
      store.reads += 1;
      return ids.includes(id) ? { id, name: id, created_at: 0 } : null;
    },
  };
  return store;
}

describe("the tenant directory", () => {
  it("holds no more than its byte budget, drops the least recently asked tenant, and asks for it again", async () => {
    const ids = ["acme", "globex", "initech", "umbrella"];
    const store = countingTenants(ids);
    // Room for about two tenants (≈ 135 bytes each).
    const budget = 300;
    const tenants = new TenantDirectory(() => store as unknown as TenantsStore, { maxBytes: budget });
    for (const id of ids) expect(await tenants.exists(id)).toBe(true);
    expect(store.reads).toBe(4);
    expect(tenants.bytes).toBeGreaterThan(0);
    expect(tenants.bytes).toBeLessThanOrEqual(budget);

    expect(await tenants.exists("umbrella")).toBe(true); // the newest is held
    expect(store.reads).toBe(4);
    expect(await tenants.exists("acme")).toBe(true); // the oldest was dropped: asked again, still found
    expect(store.reads).toBe(5);
    expect(await tenants.exists("hooli")).toBe(false); // one not found is never held
    expect(await tenants.exists("hooli")).toBe(false);
    expect(store.reads).toBe(7);
    expect(tenants.bytes).toBeLessThanOrEqual(budget);
  });
});
