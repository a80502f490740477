import { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionEnvironment } from "../environment/provision.js";
import type { ControlPlane } from "../gcp/control-plane.js";
import { createGcloudControlPlane } from "../gcp/gcloud.js";
import { ROLE_PERMISSIONS, verifyRoles } from "../gcp/iam-roles.js";
import { readOnlyControlPlane } from "../gcp/read-only.js";
import { createRestControlPlane } from "../gcp/rest.js";
import { DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";
import { findIndexDrift } from "./index-drift.js";
import { indexesStatus, loadIndexDefinitions, ttlStatus } from "./indexes.js";
import { runBootstrap } from "./run.js";

/**
 * Against real GCP, only with FIREBRICK_LIVE_GCP=1 and GOOGLE_CLOUD_PROJECT set (FIRESTORE_DATABASE_ID for
 * a named database; credentials: the active gcloud account and Application Default Credentials). Never
 * mutates: every control plane here is read-only, the bootstrap runs in preflight and `env` only plans.
 */
const live = process.env.FIREBRICK_LIVE_GCP === "1";
const projectId = process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCP_PROJECT_ID ?? "";
const databaseId = process.env.FIRESTORE_DATABASE_ID ?? "(default)";

// Skipped unless FIREBRICK_LIVE_GCP=1: these talk to a real GCP project (read-only), which CI has not.
describe.skipIf(!live)("live GCP (read-only, FIREBRICK_LIVE_GCP=1)", () => {
  let emulatorHost: string | undefined;
  beforeAll(() => {
    expect(projectId, "GOOGLE_CLOUD_PROJECT must name the live project").not.toBe("");
    // The test run points the SDK at the emulator; these tests need the real Firestore.
    emulatorHost = process.env.FIRESTORE_EMULATOR_HOST;
    delete process.env.FIRESTORE_EMULATOR_HOST;
  });
  afterAll(() => {
    if (emulatorHost !== undefined) process.env.FIRESTORE_EMULATOR_HOST = emulatorHost;
  });

  const planes: [string, () => ControlPlane][] = [
    ["gcloud", () => readOnlyControlPlane(createGcloudControlPlane({ projectId, databaseId }))],
    ["rest", () => readOnlyControlPlane(createRestControlPlane({ projectId, databaseId }))],
  ];

  for (const [kind, make] of planes) {
    it(`${kind}: preflight reports every check, roles and protection included, and changes nothing`, {
      timeout: 180_000,
    }, async () => {
      const report = await runBootstrap({
        config: { ...DEFAULT_BOOTSTRAP_CONFIG, databaseId },
        projectId,
        controlPlane: make(),
        firestore: () => new Firestore({ projectId, databaseId }),
        preflight: true,
        requiredRoles: ["roles/datastore.user"],
      });
      expect(report.preflight).toBe(true);
      expect(report.changes).toBe(0);
      expect([...new Set(report.checks.map((check) => check.check))]).toEqual([
        "role",
        "api",
        "database",
        "native_mode",
        "active",
        "point_in_time_recovery",
        "delete_protection",
        "backup_schedule",
        "document",
      ]);
      for (const check of report.checks) expect(check.detail).not.toMatch(/refused: read-only/);
    });

    it(`${kind}: testIamPermissions answers for every role of the table`, { timeout: 120_000 }, async () => {
      const verdicts = await verifyRoles(Object.keys(ROLE_PERMISSIONS), (permissions) =>
        make().testIamPermissions(permissions),
      );
      for (const verdict of verdicts) {
        expect(
          verdict.missing.every((permission) => ROLE_PERMISSIONS[verdict.role]!.includes(permission)),
        ).toBe(true);
      }
    });

    it(`${kind}: reads index, TTL and drift states`, { timeout: 180_000 }, async (context) => {
      const definitions = loadIndexDefinitions();
      const controlPlane = make();
      // Nothing to read without the database: said so, as a visible skip, not a silent pass.
      if (!(await controlPlane.getDatabase())) {
        context.skip(`no database ${databaseId} in ${projectId}: index, TTL and drift states cannot be read`);
      }
      const indexes = await indexesStatus(controlPlane, definitions);
      expect(indexes.map((item) => item.state)).toEqual(
        indexes.map(() => expect.stringMatching(/^(READY|CREATING|NEEDS_REPAIR|MISSING|EXEMPT|INDEXED)$/)),
      );
      const ttl = await ttlStatus(controlPlane, definitions);
      expect(ttl).toHaveLength(definitions.fieldOverrides.filter((entry) => entry.ttl).length);
      for (const drift of await findIndexDrift(controlPlane, definitions)) {
        expect(drift.item).toMatch(/^(index|field override|ttl) /);
      }
      expect(await controlPlane.listBackupSchedules()).toEqual(expect.any(Array));
    });

    it(`${kind}: env plan reads the environment's setup and changes nothing`, {
      timeout: 180_000,
    }, async () => {
      const report = await provisionEnvironment({ controlPlane: make(), environment: "dev", apply: false });
      expect(report.changes).toBe(0);
      for (const step of report.steps) expect(step.detail).not.toMatch(/refused: read-only/);
    });
  }
});
