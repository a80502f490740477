import { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../gcp/control-plane.js";
import { createGcloudControlPlane } from "../gcp/gcloud.js";
import { readOnlyControlPlane } from "../gcp/read-only.js";
import { createRestControlPlane } from "../gcp/rest.js";
import { DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";
import { indexesStatus, loadIndexDefinitions, ttlStatus } from "./indexes.js";
import { runBootstrap } from "./run.js";

/**
 * Against real GCP, only with FIREBRICK_LIVE_GCP=1 and GOOGLE_CLOUD_PROJECT set (credentials: the active
 * gcloud account and Application Default Credentials). Never mutates: every control plane here is
 * read-only, and the bootstrap runs in preflight.
 */
const live = process.env.FIREBRICK_LIVE_GCP === "1";
const projectId = process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCP_PROJECT_ID ?? "";

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
    ["gcloud", () => readOnlyControlPlane(createGcloudControlPlane({ projectId }))],
    ["rest", () => readOnlyControlPlane(createRestControlPlane({ projectId }))],
  ];

  for (const [kind, make] of planes) {
    it(`${kind}: preflight reports every check and changes nothing`, { timeout: 120_000 }, async () => {
      const report = await runBootstrap({
        config: DEFAULT_BOOTSTRAP_CONFIG,
        projectId,
        controlPlane: make(),
        firestore: () => new Firestore({ projectId }),
        preflight: true,
      });
      expect(report.preflight).toBe(true);
      expect(report.changes).toBe(0);
      expect(report.checks.map((check) => check.check)).toEqual([
        "api",
        "database",
        "native_mode",
        "active",
        "document",
      ]);
      for (const check of report.checks) expect(check.detail).not.toMatch(/refused: read-only/);
    });

    it(`${kind}: reads index and TTL states`, { timeout: 120_000 }, async () => {
      const definitions = loadIndexDefinitions();
      const controlPlane = make();
      if (!(await controlPlane.getDatabase())) return;
      const indexes = await indexesStatus(controlPlane, definitions);
      expect(indexes.map((item) => item.state)).toEqual(
        indexes.map(() => expect.stringMatching(/^(READY|CREATING|NEEDS_REPAIR|MISSING|EXEMPT|INDEXED)$/)),
      );
      const ttl = await ttlStatus(controlPlane, definitions);
      expect(ttl).toHaveLength(definitions.fieldOverrides.filter((entry) => entry.ttl).length);
    });
  }
});
