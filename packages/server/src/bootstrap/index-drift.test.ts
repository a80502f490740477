import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueProjectId } from "../../../../test/firestore.js";
import { FakeControlPlane, restControlPlaneOn } from "../gcp/testing/fake-control-plane.js";
import { findIndexDrift, pruneIndexDrift } from "./index-drift.js";
import { deployIndexes, indexesStatus, loadIndexDefinitions } from "./indexes.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

function deployedProject(databaseId = "(default)") {
  const projectId = uniqueProjectId("drift");
  fake.provisioned(projectId, "FIRESTORE_NATIVE", databaseId);
  return restControlPlaneOn(fake, projectId, { databaseId });
}

describe("index drift over the REST control plane", () => {
  const definitions = loadIndexDefinitions();

  it("a project deployed from the file, TTL policies included, has no drift (the database default is nobody's)", async () => {
    const controlPlane = deployedProject();
    await deployIndexes(controlPlane, definitions);
    for (const entry of definitions.fieldOverrides.filter((override) => override.ttl)) {
      await controlPlane.enableTtl(entry.collectionGroup, entry.fieldPath);
    }
    expect(await findIndexDrift(controlPlane, definitions)).toEqual([]);
  });

  it("lists what was made by hand — a composite index, a field override, a TTL policy — and prunes exactly that", async () => {
    const controlPlane = deployedProject("bas-prod");
    await deployIndexes(controlPlane, definitions);
    await controlPlane.createIndex("telemetry", {
      queryScope: "COLLECTION_GROUP",
      fields: [
        { fieldPath: "device_id", order: "ASCENDING" },
        { fieldPath: "metrics.zone_temp_c", order: "DESCENDING" },
      ],
    });
    await controlPlane.setFieldIndexes("audit_log", "details", [
      { queryScope: "COLLECTION", arrayConfig: "CONTAINS" },
    ]);
    await controlPlane.enableTtl("devices", "retired_at");
    const drift = await findIndexDrift(controlPlane, definitions);
    expect(drift.map((entry) => entry.item)).toEqual([
      "index telemetry (device_id ASC, metrics.zone_temp_c DESC) [collection group]",
      "field override audit_log.details (1 single-field index)",
      "ttl devices.retired_at",
    ]);
    const before = fake.mutations().length;
    const pruned = await pruneIndexDrift(controlPlane, drift);
    // TTL first (one TTL field per collection group), then the rest.
    expect(pruned.map((item) => item.item)).toEqual([
      "ttl devices.retired_at",
      "index telemetry (device_id ASC, metrics.zone_temp_c DESC) [collection group]",
      "field override audit_log.details (1 single-field index)",
    ]);
    expect(
      fake
        .mutations()
        .slice(before)
        .map((request) =>
          `${request.method} ${request.path.replace(/^.*\/databases\/bas-prod/, "")} ${request.query.updateMask ?? ""}`.trim(),
        ),
    ).toEqual([
      "PATCH /collectionGroups/devices/fields/retired_at ttlConfig",
      expect.stringMatching(/^DELETE \/collectionGroups\/telemetry\/indexes\/\S+$/),
      "PATCH /collectionGroups/audit_log/fields/details indexConfig",
    ]);
    expect(await findIndexDrift(controlPlane, definitions)).toEqual([]);
    // The declared indexes are untouched.
    expect(
      (await indexesStatus(controlPlane, definitions)).filter((item) => item.state === "MISSING"),
    ).toEqual([]);
  });

  it("a declared field override with an undeclared TTL is TTL drift only", async () => {
    const controlPlane = deployedProject();
    await deployIndexes(controlPlane, definitions);
    // telemetry.timestamp_ms is declared (exempt, ttl: false); a TTL on it is not.
    await controlPlane.enableTtl("telemetry", "timestamp_ms");
    expect((await findIndexDrift(controlPlane, definitions)).map((entry) => entry.kind)).toEqual(["ttl"]);
  });
});
