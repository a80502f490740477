import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import { runCli } from "../testing/run-cli.js";
import { parseFlagAssignments } from "./flags.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "firebrick-flags-cli-"));

describe("firebrick flags set: the assignments", () => {
  it("reads NAME=on|off (also 1|0, true|false), and refuses anything else as bad usage", () => {
    expect(parseFlagAssignments(["audit=on", "telemetry_dual_write=0", "auth=OFF"])).toEqual({
      audit: true,
      telemetry_dual_write: false,
      auth: false,
    });
    for (const wrong of [["bogus=on"], ["audit=maybe"], ["audit"], ["audit=on=off"], []]) {
      expect(() => parseFlagAssignments(wrong), JSON.stringify(wrong)).toThrow(/flag|value/);
    }
  });
});

describe("firebrick flags and audit --platform, on Firestore", () => {
  const env = {
    FIREBRICK_DATA_DIR: tempDir(),
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    GOOGLE_CLOUD_PROJECT: uniqueProjectId("flags-cli"),
  };

  it("sets the service-wide flags, shows them with who saved them, and lists the change in the platform audit log", async () => {
    const set = await runCli(["flags", "set", "audit=on", "telemetry=on", "--json"], { env });
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      flags: { audit: true, telemetry: true, auth: false },
      stores: { audit: "firestore", telemetry: "firestore", auth: "sqlite" },
      moved: ["telemetry", "audit"],
    });

    // Another operator's machine (another data dir) sees the same flags: they live in Firestore.
    const show = await runCli(["flags", "show", "--json"], {
      env: { ...env, FIREBRICK_DATA_DIR: tempDir() },
    });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      flags: { audit: true, telemetry: true, auth: false, telemetry_dual_write: false },
      saved_by: expect.stringMatching(/^cli:.+@.+/),
      state: expect.stringContaining("fleet_state"),
    });
    const again = await runCli(["flags", "set", "audit=on"], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to change");

    const audit = await runCli(["audit", "--platform", "--json"], { env });
    expect(audit.code).toBe(0);
    const { entries } = JSON.parse(audit.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: "flags.update",
      outcome: "success",
      actor: expect.stringMatching(/^cli:/),
      details: { moved: ["telemetry", "audit"] },
    });
    const text = await runCli(["audit", "--platform"], { env });
    expect(text.stdout).toMatch(/flags\.update flags {2}success {2}by cli:/);
  }, 60_000);

  it("exits 2 on a bad assignment, and on audit without --platform", async () => {
    const bad = await runCli(["flags", "set", "audit=maybe"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("on or off");
    const tenantLog = await runCli(["audit"], { env });
    expect(tenantLog.code).toBe(2);
    expect(tenantLog.stderr).toContain("--platform");
  }, 60_000);
});

describe("firebrick flags without Firestore", () => {
  const env = {
    FIREBRICK_DATA_DIR: tempDir(),
    FIRESTORE_EMULATOR_HOST: undefined,
    GOOGLE_CLOUD_PROJECT: undefined,
  };

  it("shows every area on SQLite and refuses to move one to Firestore (exit 2)", async () => {
    const show = await runCli(["flags", "show"], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("audit                 off  (sqlite)");
    expect(show.stdout).toContain("Firestore is not configured");
    const set = await runCli(["flags", "set", "audit=on"], { env });
    expect(set.code).toBe(2);
    expect(set.stderr).toContain("Firestore is not configured");
  }, 60_000);
});
