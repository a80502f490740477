import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ensureUuidV4, isUuidV4 } from "./legacy-ids.js";

describe("ensureUuidV4", () => {
  it("keeps an existing UUIDv4", () => {
    const id = "3f2b8c1e-9a4d-4e2f-8b1a-0c9d8e7f6a5b";
    expect(ensureUuidV4("demo", "user", id)).toBe(id);
  });

  it("maps any legacy id to a valid UUIDv4, the same one every time", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (tenant, legacy) => {
        const id = ensureUuidV4(tenant, "user", legacy);
        expect(isUuidV4(id) || isUuidV4(legacy)).toBe(true);
        expect(ensureUuidV4(tenant, "user", legacy)).toBe(id);
      }),
    );
  });

  it("gives the same legacy id different UUIDs in different tenants", () => {
    expect(ensureUuidV4("a", "user", "17")).not.toBe(ensureUuidV4("b", "user", "17"));
  });
});
