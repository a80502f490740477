import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_INDEXES_FILE, loadIndexDefinitions } from "../../bootstrap/indexes.js";
import { FIRESTORE_INDEXES } from "./indexes.js";

describe("index definitions: one source of truth", () => {
  it("infra/firestore.indexes.json is FIRESTORE_INDEXES serialised (edit the constant, then the file)", () => {
    expect(JSON.parse(readFileSync(DEFAULT_INDEXES_FILE, "utf8"))).toEqual(FIRESTORE_INDEXES);
  });

  it("the bootstrap reads the same definitions the stores declare", () => {
    expect(loadIndexDefinitions()).toEqual(FIRESTORE_INDEXES);
  });

  it("declares the ascending lockId index @firebrick/lock queries on the locks collection", () => {
    expect(FIRESTORE_INDEXES.fieldOverrides).toContainEqual({
      collectionGroup: "locks",
      fieldPath: "lockId",
      ttl: false,
      indexes: [{ order: "ASCENDING", queryScope: "COLLECTION" }],
    });
  });

  it("puts no TTL on fence counters or locks: a deleted counter would hand out old fences again", () => {
    const ttl = FIRESTORE_INDEXES.fieldOverrides.filter((entry) => entry.ttl);
    expect(ttl.map((entry) => entry.collectionGroup)).not.toContain("fence_counters");
    expect(ttl.map((entry) => entry.collectionGroup)).not.toContain("locks");
    expect(
      FIRESTORE_INDEXES.fieldOverrides.filter((entry) => entry.collectionGroup === "fence_counters"),
    ).toEqual([]);
  });
});
