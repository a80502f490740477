import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import {
  endpointOverrides,
  FakeControlPlane,
  restControlPlaneOn,
} from "../../gcp/testing/fake-control-plane.js";
import { runCli, spawnCli } from "../testing/run-cli.js";

let fake: FakeControlPlane;
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
  dir = mkdtempSync(join(tmpdir(), "firebrick-provisioning-cli-"));
  writeFileSync(join(dir, "token"), fake.token);
  // The REST control plane honours gcloud's endpoint and token overrides, for every API it calls.
  env = {
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    ...endpointOverrides(fake),
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, "token"),
  };
});
afterAll(() => fake.stop());

const PRODUCTION_YAML = `extensions:
  firestore-sessions:
    type: firestore-sessions
    required_roles:
      - roles/datastore.owner
      - roles/serviceusage.serviceUsageAdmin
    config:
      database_id: bas-prod
      create_database_if_missing: true
      database_location: us-east4
      point_in_time_recovery: true
      delete_protection: true
      backup_schedule:
        - { recurrence: daily, retention: 7d }
        - { recurrence: weekly, day_of_week: sunday, retention: 14w }
      retry_initial_delay_seconds: 0.01
`;

describe("firebrick bootstrap for production", () => {
  it("creates the protected, backed-up named database and checks the roles; --json reports it; a second run changes nothing", async () => {
    const project = uniqueProjectId("cli-prod");
    const file = join(dir, "production.yaml");
    writeFileSync(file, PRODUCTION_YAML);
    const args = ["bootstrap", "--config", file, "--project", project, "--control-plane", "rest"];
    const first = await runCli(args, { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split("\n");
    expect(lines[0]).toBe(`firebrick bootstrap: project ${project}, database bas-prod, control plane rest`);
    expect(lines.slice(1, -1).map((line) => line.trim().split(/\s+/).slice(0, 2).join(" "))).toEqual([
      "ok role",
      "ok role",
      "changed api",
      "changed database",
      "ok native_mode",
      "ok active",
      "ok point_in_time_recovery",
      "ok delete_protection",
      "changed backup_schedule",
      "changed backup_schedule",
      "changed document",
    ]);
    const second = await runCli([...args, "--json"], { env });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ compliant: true, changes: 0, database_id: "bas-prod" });
  });

  it("a missing role fails preflight with the grant command; a protection to weaken needs --allow-weaker-protection", async () => {
    const project = uniqueProjectId("cli-prod-weak");
    fake.provisioned(project, "FIRESTORE_NATIVE", "bas-prod");
    const file = join(dir, "production.yaml");
    writeFileSync(file, PRODUCTION_YAML);
    fake.project(project).deniedPermissions.add("datastore.databases.update");
    const preflight = await runCli(
      ["bootstrap", "--config", file, "--project", project, "--control-plane", "rest", "--preflight"],
      {
        env,
      },
    );
    expect(preflight.code).toBe(1);
    expect(preflight.stdout).toContain(
      `FAILED   role                    roles/datastore.owner: missing datastore.databases.update (grant it: gcloud projects add-iam-policy-binding ${project} --member=user:EMAIL --role=roles/datastore.owner)`,
    );
    fake.project(project).deniedPermissions.clear();
    expect(
      (
        await runCli(["bootstrap", "--config", file, "--project", project, "--control-plane", "rest"], {
          env,
        })
      ).code,
    ).toBe(0);

    const weaker = join(dir, "weaker.yaml");
    writeFileSync(weaker, PRODUCTION_YAML.replace("delete_protection: true", "delete_protection: false"));
    const refused = await runCli(
      ["bootstrap", "--config", weaker, "--project", project, "--control-plane", "rest"],
      { env },
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /FAILED\s+delete_protection\s+delete protection is enabled and delete_protection is false: .*--allow-weaker-protection/,
    );
    const allowed = await runCli(
      [
        "bootstrap",
        "--config",
        weaker,
        "--project",
        project,
        "--control-plane",
        "rest",
        "--allow-weaker-protection",
      ],
      { env },
    );
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/changed\s+delete_protection\s+disabled delete protection/);
  });

  it("a configuration with several mistakes names every one (exit 2)", async () => {
    const bad = join(dir, "several.yaml");
    writeFileSync(
      bad,
      "extensions:\n  firestore-sessions:\n    required_roles: [roles/owner]\n    config:\n      retry_attempts: 0\n      database_id: Prod\n      backup_schedule: { recurrence: hourly, retention: 7d }\n",
    );
    const result = await runCli(["bootstrap", "--config", bad, "--project", "demo-firebrick"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      "firebrick: 4 configuration errors:",
      expect.stringMatching(
        /^ {2}invalid configuration: extensions\.firestore-sessions\.required_roles\[0\] must be a role Firebrick can verify \(/,
      ),
      '  invalid configuration: extensions.firestore-sessions.config.retry_attempts must be a positive integer (at most 100) (got "0")',
      '  invalid configuration: extensions.firestore-sessions.config.database_id must be (default) or a database id (4–63 lower-case letters, digits or hyphens, starting with a letter) (got "Prod")',
      '  invalid configuration: extensions.firestore-sessions.config.backup_schedule.recurrence must be daily or weekly (got "hourly")',
    ]);
  });
});

describe("firebrick indexes: drift", () => {
  it("status lists undeclared items as drift (exit 1); deploy --prune refuses without --yes off a terminal, and prunes with it", async () => {
    const project = uniqueProjectId("cli-drift");
    fake.provisioned(project);
    const common = ["--project", project, "--control-plane", "rest"];
    expect((await runCli(["indexes", "deploy", ...common], { env })).code).toBe(0);
    fake.finishBuilds();
    const controlPlane = restControlPlaneOn(fake, project);
    await controlPlane.createIndex("scratch", {
      queryScope: "COLLECTION",
      fields: [
        { fieldPath: "tenant_id", order: "ASCENDING" },
        { fieldPath: "name", order: "ASCENDING" },
      ],
    });
    const status = await runCli(["indexes", "status", ...common], { env });
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("DRIFT    UNDECLARED   index scratch (tenant_id ASC, name ASC)");
    expect(status.stdout.trim().split("\n").slice(-2)).toEqual([
      "all READY",
      "1 undeclared (drift): remove with firebrick indexes deploy --prune",
    ]);
    expect(status.stderr.trim()).toBe("firebrick: 1 undeclared (drift)");

    const before = fake.mutations().length;
    const refused = await runCli(["indexes", "deploy", ...common, "--prune"], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "--prune would delete 1 undeclared item; confirm with --yes:\n  index scratch (tenant_id ASC, name ASC)",
    );
    expect(fake.mutations()).toHaveLength(before);

    const pruned = await runCli(["indexes", "deploy", ...common, "--prune", "--yes", "--json"], { env });
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout).items.filter((item: { drift?: boolean }) => item.drift)).toEqual([
      expect.objectContaining({
        item: "index scratch (tenant_id ASC, name ASC)",
        state: "DELETED",
        changed: true,
      }),
    ]);
    expect((await runCli(["indexes", "status", ...common], { env })).code).toBe(0);
  });
});

describe("firebrick env", () => {
  it("plan exits 1 naming the changes; apply reads secret values from stdin only and never prints them; then plan exits 0", async () => {
    const project = uniqueProjectId("cli-env");
    const common = ["--environment", "dev", "--project", project, "--control-plane", "rest"];
    const plan = await runCli(["env", "plan", ...common, "--json"], { env });
    expect(plan.code).toBe(1);
    const planned = JSON.parse(plan.stdout);
    expect(planned).toMatchObject({ environment: "dev", compliant: false, changes: 0, apply: false });
    expect(planned.service_account).toBe(`bas-app-dev@${project}.iam.gserviceaccount.com`);
    expect(fake.mutations().filter((request) => request.path.includes(project))).toEqual([]);

    const value = "bas-dev-firestore";
    const apply = await runCli(["env", "apply", ...common, "--secrets-stdin"], {
      env,
      stdin: `firestore-project-id=${value}\n`,
    });
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("changed  secret         firestore-project-id: created it");
    expect(apply.stdout.trim().split("\n").at(-1)).toBe("compliant (6 changes)");
    expect(apply.stdout).not.toContain(value);

    const again = await runCli(["env", "plan", ...common], { env });
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split("\n").at(-1)).toBe("compliant (0 changes)");
  });

  it("exits 2 on a missing --environment, an unknown one, or a malformed stdin line (without echoing it)", async () => {
    expect((await runCli(["env", "plan", "--project", "demo-firebrick"], { env })).code).toBe(2);
    expect(
      (await runCli(["env", "plan", "--environment", "qa", "--project", "demo-firebrick"], { env })).code,
    ).toBe(2);
    const bad = await runCli(
      [
        "env",
        "apply",
        "--environment",
        "dev",
        "--project",
        "demo-firebrick",
        "--control-plane",
        "rest",
        "--secrets-stdin",
      ],
      { env, stdin: "firestore-project-id=NOT A PROJECT\n" },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain("NOT A PROJECT");
  });
});

describe("firebrick serve with FIREBRICK_SECRETS and FIRESTORE_DATABASE_ID", () => {
  it("reads the project id from Secret Manager at start and stores in the named database", async () => {
    const ops = fake.project("bas-ops-cli");
    ops.services.add("secretmanager.googleapis.com");
    const project = uniqueProjectId("cli-serve-secret");
    const secrets = restControlPlaneOn(fake, "bas-ops-cli");
    await secrets.createSecret(`project-${project}`);
    await secrets.addSecretVersion(`project-${project}`, Buffer.from(project));
    const child = spawnCli(["serve", "--port", "0"], {
      env: {
        ...env,
        FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-serve-secrets-")),
        FIREBRICK_SECRETS: `GOOGLE_CLOUD_PROJECT=projects/bas-ops-cli/secrets/project-${project}`,
        FIRESTORE_DATABASE_ID: "bas-prod",
        USE_FIRESTORE_AUTH: "1",
        USE_FIRESTORE_AUDIT: "1",
        USE_FIRESTORE_TELEMETRY: "1",
        FIREBRICK_LOG_LEVEL: "info",
      },
    });
    try {
      await new Promise<string>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
        createInterface({ input: child.stdout }).on("line", (line) => {
          if (line.startsWith("{") && JSON.parse(line).msg === "firebrick is serving") resolve(line);
        });
      });
      // The first run's tenant is in the secret's project, in the named database — not in (default).
      const named = emulatorClient(project, emulatorHost(), { databaseId: "bas-prod" });
      expect((await named.collection("tenants").doc("demo").get()).exists).toBe(true);
      expect((await emulatorClient(project).collection("tenants").doc("demo").get()).exists).toBe(false);
    } finally {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }, 60_000);
});
