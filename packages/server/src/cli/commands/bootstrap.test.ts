import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import { endpointOverrides, FakeControlPlane } from "../../gcp/testing/fake-control-plane.js";
import { runCli } from "../testing/run-cli.js";

let fake: FakeControlPlane;
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
  dir = mkdtempSync(join(tmpdir(), "firebrick-bootstrap-cli-"));
  writeFileSync(join(dir, "token"), fake.token);
  writeFileSync(
    join(dir, "bootstrap.yaml"),
    "extensions:\n  firestore-sessions:\n    type: firestore-sessions\n    config:\n      create_database_if_missing: true\n      database_location: us-east4\n      retry_initial_delay_seconds: 0.01\n",
  );
  // The REST control plane honours gcloud's endpoint and token overrides, so these point it at the fake.
  env = {
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    ...endpointOverrides(fake),
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, "token"),
  };
});
afterAll(() => fake.stop());

describe("firebrick bootstrap", () => {
  it("provisions a fresh project, prints one line per check, and a second run (--json) changes nothing", async () => {
    const project = uniqueProjectId("cli-first");
    const args = [
      "bootstrap",
      "--config",
      join(dir, "bootstrap.yaml"),
      "--project",
      project,
      "--control-plane",
      "rest",
    ];
    const first = await runCli(args, { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split("\n");
    expect(lines[0]).toBe(`firebrick bootstrap: project ${project}, control plane rest`);
    expect(lines.slice(1, 9).map((line) => line.trim().split(/\s+/).slice(0, 2))).toEqual([
      ["changed", "api"],
      ["changed", "database"],
      ["ok", "native_mode"],
      ["ok", "active"],
      ["skipped", "point_in_time_recovery"],
      ["skipped", "delete_protection"],
      ["skipped", "backup_schedule"],
      ["changed", "document"],
    ]);
    expect(lines.at(-1)).toBe("compliant (3 changes)");

    const second = await runCli([...args, "--json"], { env });
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report).toMatchObject({ compliant: true, changes: 0, control_plane: "rest", project_id: project });
    expect(report.checks.map((check: { status: string }) => check.status)).toEqual([
      "ok",
      "ok",
      "ok",
      "ok",
      "skipped",
      "skipped",
      "skipped",
      "ok",
    ]);
  });

  it("--preflight on a fresh project exits 1, naming each missing piece, and changes nothing", async () => {
    const project = uniqueProjectId("cli-preflight");
    const result = await runCli(
      ["bootstrap", "--project", project, "--control-plane", "rest", "--preflight"],
      { env },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAILED\s+api\s+firestore.googleapis.com is not enabled \(preflight: would enable it\)/,
    );
    expect(result.stdout).toMatch(/FAILED\s+database\s+database \(default\)/);
    expect(result.stdout).toMatch(/FAILED\s+document\s+bootstrap document zarch_sessions\/sessions/);
    expect(result.stderr.trim()).toBe("firebrick: not compliant: 3 checks failed");
    expect(fake.mutations().filter((request) => request.path.includes(project))).toEqual([]);
  });

  it("under the emulator defaults to no control plane and reconciles only the document", async () => {
    const result = await runCli(["bootstrap", "--project", uniqueProjectId("cli-emulator"), "--json"], {
      env: { ...env, CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE: "http://127.0.0.1:1/" },
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.control_plane).toBe("none");
    expect(
      report.checks.map((check: { check: string; status: string }) => `${check.check}:${check.status}`),
    ).toEqual([
      "api:skipped",
      "database:skipped",
      "native_mode:skipped",
      "active:skipped",
      "point_in_time_recovery:skipped",
      "delete_protection:skipped",
      "backup_schedule:skipped",
      "document:changed",
    ]);
  });

  it("exits 2 with one line naming the key on a bad configuration, a bad flag or no project", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "extensions:\n  firestore-sessions:\n    config:\n      retry_attempts: 0\n");
    const badConfig = await runCli(["bootstrap", "--config", bad, "--project", "demo-firebrick"], { env });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr.trim()).toBe(
      'firebrick: invalid configuration: extensions.firestore-sessions.config.retry_attempts must be a positive integer (at most 100) (got "0")',
    );
    expect(
      (await runCli(["bootstrap", "--project", "demo-firebrick", "--control-plane", "ssh"], { env })).code,
    ).toBe(2);
    const noProject = await runCli(["bootstrap"], { env });
    expect(noProject.code).toBe(2);
    expect(noProject.stderr).toContain("--project");
  });
});

describe("firebrick indexes and ttl", () => {
  it("status gates on READY/ACTIVE; deploy and enable request what is missing", async () => {
    const project = uniqueProjectId("cli-indexes");
    fake.provisioned(project);
    const common = ["--project", project, "--control-plane", "rest"];
    const before = await runCli(["indexes", "status", ...common], { env });
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      "MISSING      index telemetry (tenant_id ASC, device_id ASC, timestamp_ms DESC)",
    );

    const deployed = await runCli(["indexes", "deploy", ...common, "--json"], { env });
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.stdout)).toMatchObject({ ready: false });
    const enabled = await runCli(["ttl", "enable", ...common], { env });
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toContain("CREATING     ttl telemetry.expire_at");

    fake.finishBuilds();
    const indexes = await runCli(["indexes", "status", ...common], { env });
    expect(indexes.stdout.trim().split("\n").at(-1)).toBe("all READY");
    expect(indexes.code).toBe(0);
    const ttl = await runCli(["ttl", "status", ...common, "--json"], { env });
    expect(ttl.code).toBe(0);
    // telemetry, audit_log, the three trend-rollup collections, sessions.
    expect(JSON.parse(ttl.stdout).items.map((item: { state: string }) => item.state)).toEqual(
      Array(6).fill("ACTIVE"),
    );
  });
});
