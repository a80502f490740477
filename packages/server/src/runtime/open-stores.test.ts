import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { loadConfig } from "../config/env.js";
import { FlagChangeRefusedError } from "../stores/routing/flag-change.js";
import { openStores } from "./open-stores.js";

/** A first start of a service on a fresh emulator project, telemetry asked on Firestore. */
function firstStart(projectId: string) {
  return loadConfig({
    FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-open-stores-")),
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    GOOGLE_CLOUD_PROJECT: projectId,
    USE_FIRESTORE_TELEMETRY: "1",
  });
}

describe("opening the stores at start-up", () => {
  it("refuses to start telemetry reads on Firestore while the readiness gate blocks, and saves no flags", async () => {
    const projectId = uniqueProjectId("gate-start");
    const start = openStores(firstStart(projectId), {
      initializeFlags: true,
      telemetryGate: async () => ["the telemetry composite indexes are not READY"],
    });
    await expect(start).rejects.toThrow(FlagChangeRefusedError);
    await expect(start).rejects.toMatchObject({ reason: "telemetry_flip_blocked" });

    // Nothing was saved: a later start past the gate saves the flags, with telemetry on Firestore.
    const opened = await openStores(firstStart(projectId), {
      initializeFlags: true,
      telemetryGate: async () => [],
    });
    try {
      expect((await opened.fleet.flags.load())?.flags).toMatchObject({ telemetry: true });
      expect(opened.flags.current().telemetry).toBe(true);
    } finally {
      await opened.close();
    }
  });

  it("consults the gate only when the first start puts telemetry reads on Firestore", async () => {
    let asked = 0;
    const config = loadConfig({
      FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-open-stores-")),
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("gate-off"),
      USE_FIRESTORE_AUDIT: "1",
    });
    const opened = await openStores(config, {
      initializeFlags: true,
      telemetryGate: async () => {
        asked++;
        return ["never asked"];
      },
    });
    try {
      expect(asked).toBe(0);
      expect(opened.flags.current()).toMatchObject({ telemetry: false, audit: true });
    } finally {
      await opened.close();
    }
  });
});
