import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueProjectId } from "../../../../test/firestore.js";
import { FakeControlPlane, restControlPlaneOn } from "../gcp/testing/fake-control-plane.js";
import {
  deployIndexes,
  enableTtl,
  indexesStatus,
  loadIndexDefinitions,
  telemetryIndexReady,
  ttlStatus,
} from "./indexes.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

function provisionedProject() {
  const projectId = uniqueProjectId("indexes");
  fake.provisioned(projectId);
  return restControlPlaneOn(fake, projectId);
}

describe("infra/firestore.indexes.json", () => {
  const definitions = loadIndexDefinitions();

  it("declares the telemetry composite index (tenant_id asc, device_id asc, timestamp_ms desc)", () => {
    expect(definitions.indexes).toContainEqual({
      collectionGroup: "telemetry",
      queryScope: "COLLECTION",
      fields: [
        { fieldPath: "tenant_id", order: "ASCENDING" },
        { fieldPath: "device_id", order: "ASCENDING" },
        { fieldPath: "timestamp_ms", order: "DESCENDING" },
      ],
    });
  });

  it("exempts telemetry.timestamp_ms from single-field indexing and declares the TTL fields", () => {
    expect(definitions.fieldOverrides).toContainEqual({
      collectionGroup: "telemetry",
      fieldPath: "timestamp_ms",
      ttl: false,
      indexes: [],
    });
    const ttl = definitions.fieldOverrides
      .filter((entry) => entry.ttl)
      .map((entry) => `${entry.collectionGroup}.${entry.fieldPath}`);
    expect(ttl).toEqual([
      "telemetry.expire_at",
      "audit_log.expire_at",
      "fleet_records.expire_at",
      "platform_audit.expire_at",
      "fleet_changes.expire_at",
      // Trend rollups: two years (docs/design/trends.md).
      "telemetry_rollups.expire_at",
      "telemetry_rollup_months.expire_at",
      "telemetry_rollup_intents.expire_at",
      "alarms.expire_at",
      "webhook_deliveries.expire_at",
      "webhook_attempts.expire_at",
      "sessions.expires_at",
    ]);
  });
});

describe("indexes and TTL over the REST control plane", () => {
  it("deploys the missing indexes and exemptions once; status gates on READY", async () => {
    const controlPlane = provisionedProject();
    const definitions = loadIndexDefinitions();
    const before = await indexesStatus(controlPlane, definitions);
    // A new database indexes every field both ways by default: the field overrides that ask for
    // single-field indexes (the lock's lockId, sessions.expires_at) are READY from the start.
    expect(before.filter((item) => item.ready).map((item) => item.item)).toEqual([
      "field index sessions.expires_at (ASC, DESC)",
      "field index locks.lockId (ASC)",
    ]);
    expect(before.filter((item) => item.state === "MISSING")).toHaveLength(definitions.indexes.length);

    const deployed = await deployIndexes(controlPlane, definitions);
    const exemptions = definitions.fieldOverrides.filter((entry) => entry.indexes.length === 0);
    expect(exemptions.map((entry) => `${entry.collectionGroup}.${entry.fieldPath}`)).toEqual([
      "telemetry.timestamp_ms",
      "telemetry.written_at",
      "telemetry.expire_at",
      "audit_log.expire_at",
      "fleet_records.expire_at",
      "platform_audit.expire_at",
      "fleet_changes.expire_at",
      "telemetry_rollups.expire_at",
      "telemetry_rollups.m",
      "telemetry_rollups.rebuilt",
      "telemetry_rollup_months.expire_at",
      "telemetry_rollup_months.parts",
      "telemetry_rollup_intents.expire_at",
      "alarms.expire_at",
      "webhook_deliveries.expire_at",
      "webhook_attempts.expire_at",
    ]);
    expect(deployed.filter((item) => item.changed)).toHaveLength(
      definitions.indexes.length + exemptions.length,
    );
    expect(await telemetryIndexReady(controlPlane, definitions)).toBe(false);

    const mutations = fake.mutations().length;
    const again = await deployIndexes(controlPlane, definitions);
    expect(again.some((item) => item.changed)).toBe(false);
    expect(fake.mutations()).toHaveLength(mutations);

    fake.finishBuilds();
    const after = await indexesStatus(controlPlane, definitions);
    expect(after.every((item) => item.ready)).toBe(true);
    expect(await telemetryIndexReady(controlPlane, definitions)).toBe(true);
  });

  it("finds a field override's index gone (e.g. the lock's lockId exempted) and puts it back", async () => {
    const controlPlane = provisionedProject();
    const definitions = loadIndexDefinitions();
    await controlPlane.setFieldIndexes("locks", "lockId", []);
    const lockId = (statuses: Awaited<ReturnType<typeof indexesStatus>>) =>
      statuses.find((item) => item.item === "field index locks.lockId (ASC)");
    expect(lockId(await indexesStatus(controlPlane, definitions))).toMatchObject({
      state: "MISSING",
      ready: false,
    });

    expect(lockId(await deployIndexes(controlPlane, definitions))).toMatchObject({
      state: "CREATING",
      changed: true,
    });
    expect((await controlPlane.getField("locks", "lockId")).indexConfig).toMatchObject({
      usesAncestorConfig: false,
      indexes: [{ queryScope: "COLLECTION", fields: [{ fieldPath: "lockId", order: "ASCENDING" }] }],
    });
    expect(lockId(await indexesStatus(controlPlane, definitions))).toMatchObject({ state: "CREATING" });
    fake.finishBuilds();
    expect(lockId(await indexesStatus(controlPlane, definitions))).toMatchObject({
      state: "READY",
      ready: true,
    });
  });

  it("enables the TTL policies; status gates on ACTIVE", async () => {
    const controlPlane = provisionedProject();
    const definitions = loadIndexDefinitions();
    const ttlFields = definitions.fieldOverrides.filter((entry) => entry.ttl).length;
    expect((await ttlStatus(controlPlane, definitions)).map((item) => item.state)).toEqual(
      Array(ttlFields).fill("MISSING"),
    );
    const enabled = await enableTtl(controlPlane, definitions);
    expect(enabled.map((item) => [item.state, item.changed])).toEqual(
      Array(ttlFields).fill(["CREATING", true]),
    );
    expect((await ttlStatus(controlPlane, definitions)).some((item) => item.ready)).toBe(false);
    fake.finishBuilds();
    expect(
      (await ttlStatus(controlPlane, definitions)).every((item) => item.ready && item.state === "ACTIVE"),
    ).toBe(true);
  });

  it("the telemetry gate is always open without a control plane (the emulator needs no indexes)", async () => {
    expect(await telemetryIndexReady(null)).toBe(true);
  });

  it("does not count an index with other fields or another order as the telemetry index", async () => {
    const controlPlane = provisionedProject();
    await controlPlane.createIndex("telemetry", {
      queryScope: "COLLECTION",
      fields: [
        { fieldPath: "tenant_id", order: "ASCENDING" },
        { fieldPath: "device_id", order: "ASCENDING" },
        { fieldPath: "timestamp_ms", order: "ASCENDING" },
      ],
    });
    fake.finishBuilds();
    expect(await telemetryIndexReady(controlPlane)).toBe(false);
  });
});
