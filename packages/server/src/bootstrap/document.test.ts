import { describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";
import { bootstrapDocumentCheck } from "./document.js";
import { BootstrapFailedError, emulatorBootstrap } from "./emulator.js";

describe("bootstrapDocumentCheck (for /readyz)", () => {
  it("fails while the document is missing, passes once bootstrapped, and never writes", async () => {
    const db = testFirestore("readyz-check");
    const check = bootstrapDocumentCheck(db);
    expect(check.name).toBe("bootstrap");
    await expect(check.check()).rejects.toThrow(
      "bootstrap document zarch_sessions/sessions is missing (run firebrick bootstrap)",
    );
    expect((await db.collection("zarch_sessions").get()).size).toBe(0);

    await emulatorBootstrap(db, "demo-readyz");
    await expect(check.check()).resolves.toBeUndefined();
  });

  it("fails on a document at another schema version", async () => {
    const db = testFirestore("readyz-drift");
    await emulatorBootstrap(db, "demo-readyz", { ...DEFAULT_BOOTSTRAP_CONFIG, schemaVersion: 2 });
    await expect(bootstrapDocumentCheck(db).check()).rejects.toThrow("downgrade refused");
    await expect(
      bootstrapDocumentCheck(db, { ...DEFAULT_BOOTSTRAP_CONFIG, schemaVersion: 3 }).check(),
    ).rejects.toThrow("is at schema_version 2, expected 3");
  });
});

describe("emulatorBootstrap (for serve --emulator)", () => {
  it("creates the document once and is idempotent", async () => {
    const db = testFirestore("emulator-bootstrap");
    const first = await emulatorBootstrap(db, "demo-emulator");
    expect(first.changes).toBe(1);
    const second = await emulatorBootstrap(db, "demo-emulator");
    expect(second.changes).toBe(0);
  });

  it("throws BootstrapFailedError naming the failed check when the document is incompatible", async () => {
    const db = testFirestore("emulator-bootstrap-bad");
    await db.collection("zarch_sessions").doc("sessions").set({ schema_version: 9 });
    const failure = await emulatorBootstrap(db, "demo-emulator").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BootstrapFailedError);
    expect((failure as Error).message).toContain(
      "document: bootstrap document zarch_sessions/sessions is incompatible",
    );
  });
});
