import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { type BootstrapConfig, DEFAULT_BOOTSTRAP_CONFIG } from "../bootstrap/config.js";
import { findIndexDrift, pruneIndexDrift } from "../bootstrap/index-drift.js";
import {
  deployIndexes,
  enableTtl,
  type IndexDefinitions,
  indexesStatus,
  ttlStatus,
} from "../bootstrap/indexes.js";
import { runBootstrap } from "../bootstrap/run.js";
import { provisionEnvironment } from "../environment/provision.js";
import type { Field } from "./control-plane.js";
import { classifyGcloudFailure, createGcloudControlPlane } from "./gcloud.js";
import { firestoreFor } from "./select.js";
import { FakeControlPlane, gcloudEnv } from "./testing/fake-control-plane.js";

// Each gcloud invocation costs a second or two of CPU: these tests are few, but run the real binary.
let fake: FakeControlPlane;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
  const scratch = mkdtempSync(join(tmpdir(), "firebrick-gcloud-"));
  const tokenFile = join(scratch, "token");
  writeFileSync(tokenFile, fake.token);
  env = { ...process.env, ...gcloudEnv(fake, join(scratch, "config"), tokenFile) };
});
afterAll(() => fake.stop());

function project(label: string, databaseId = "(default)") {
  const projectId = uniqueProjectId(label);
  const db = emulatorClient(projectId);
  const controlPlane = createGcloudControlPlane({ projectId, databaseId, env });
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
  };
  return { projectId, db, controlPlane, delays, sleep, state: fake.project(projectId) };
}

describe("the gcloud control plane, running the real gcloud against the fake", () => {
  it("bootstraps a fresh project (enable, create, wait), and a second run changes nothing", {
    timeout: 120_000,
  }, async () => {
    const p = project("gcloud-first");
    const config = {
      ...DEFAULT_BOOTSTRAP_CONFIG,
      createDatabaseIfMissing: true,
      databaseLocation: "europe-west1",
    };
    const run = () =>
      runBootstrap({
        config,
        projectId: p.projectId,
        controlPlane: p.controlPlane,
        firestore: p.db,
        sleep: p.sleep,
      });
    const first = await run();
    expect(first.checks.map((check) => [check.check, check.status])).toEqual([
      ["api", "changed"],
      ["database", "changed"],
      ["native_mode", "ok"],
      ["active", "ok"],
      ["point_in_time_recovery", "skipped"],
      ["delete_protection", "skipped"],
      ["backup_schedule", "skipped"],
      ["document", "changed"],
    ]);
    expect(p.state.database).toMatchObject({ locationId: "europe-west1", type: "FIRESTORE_NATIVE" });
    const created = (await p.db.collection("zarch_sessions").doc("sessions").get()).get("created_at");

    const mutations = fake.mutations().length;
    const second = await run();
    expect(second.compliant).toBe(true);
    expect(second.changes).toBe(0);
    expect(fake.mutations()).toHaveLength(mutations);
    const after = await p.db.collection("zarch_sessions").doc("sessions").get();
    expect(after.get("created_at").isEqual(created)).toBe(true);
  });

  it("retries a gcloud exit caused by a 429, and fails fast on a 403 with its reason", {
    timeout: 60_000,
  }, async () => {
    const p = project("gcloud-faults");
    fake.provisioned(p.projectId);
    const database = new RegExp(`/projects/${p.projectId}/databases/\\(default\\)$`);
    fake.injectFault({ method: "GET", path: database, status: 429, message: "Quota exceeded" });
    const run = () =>
      runBootstrap({
        config: DEFAULT_BOOTSTRAP_CONFIG,
        projectId: p.projectId,
        controlPlane: p.controlPlane,
        firestore: p.db,
        sleep: p.sleep,
      });
    // The seed authorizes the Firestore SDK with this token.
    expect(await p.controlPlane.accessToken()).toBe(fake.token);
    const retried = await run();
    expect(retried.compliant).toBe(true);
    expect(p.delays).toEqual([1000]);

    fake.injectFault({
      method: "GET",
      path: database,
      status: 403,
      message: "The caller does not have permission",
      times: 5,
    });
    const before = fake.requests.length;
    const refused = await run();
    expect(refused.compliant).toBe(false);
    expect(refused.checks.find((check) => check.check === "database")?.detail).toMatch(
      /PERMISSION_DENIED: The caller does not have permission$/,
    );
    expect(p.delays).toEqual([1000]);
    expect(fake.requests.slice(before).filter((request) => database.test(request.path))).toHaveLength(1);
  });

  it("deploys an index, an exemption and a TTL policy, and gates on READY and ACTIVE", {
    timeout: 120_000,
  }, async () => {
    const p = project("gcloud-indexes");
    fake.provisioned(p.projectId);
    const definitions: IndexDefinitions = {
      indexes: [
        {
          collectionGroup: "telemetry",
          queryScope: "COLLECTION",
          fields: [
            { fieldPath: "tenant_id", order: "ASCENDING" },
            { fieldPath: "device_id", order: "ASCENDING" },
            { fieldPath: "timestamp_ms", order: "DESCENDING" },
          ],
        },
      ],
      fieldOverrides: [
        { collectionGroup: "telemetry", fieldPath: "timestamp_ms", ttl: false, indexes: [] },
        {
          collectionGroup: "telemetry",
          fieldPath: "expire_at",
          ttl: true,
          indexes: [{ order: "ASCENDING", queryScope: "COLLECTION" }],
        },
        {
          collectionGroup: "locks",
          fieldPath: "lockId",
          ttl: false,
          indexes: [
            { order: "ASCENDING", queryScope: "COLLECTION" },
            { arrayConfig: "CONTAINS", queryScope: "COLLECTION" },
          ],
        },
      ],
    };
    // Someone exempted lockId (gcloud's --disable-indexes): the override's indexes are gone.
    await p.controlPlane.setFieldIndexes("locks", "lockId", []);
    const deployed = await deployIndexes(p.controlPlane, definitions);
    expect(deployed.map((item) => [item.item, item.state, item.changed])).toEqual([
      ["index telemetry (tenant_id ASC, device_id ASC, timestamp_ms DESC)", "CREATING", true],
      ["exemption telemetry.timestamp_ms", "EXEMPTING", true],
      // Inherited from the database's defaults: ascending, in collection scope.
      ["field index telemetry.expire_at (ASC)", "READY", undefined],
      ["field index locks.lockId (ASC, CONTAINS)", "CREATING", true],
    ]);
    expect((await p.controlPlane.getField("locks", "lockId")).indexConfig?.indexes).toEqual([
      { queryScope: "COLLECTION", fields: [{ fieldPath: "lockId", order: "ASCENDING" }], state: "CREATING" },
      {
        queryScope: "COLLECTION",
        fields: [{ fieldPath: "lockId", arrayConfig: "CONTAINS" }],
        state: "CREATING",
      },
    ]);
    // gcloud has no way to say "collection group" for a single-field index: refused before any call.
    const mutations = fake.mutations().length;
    const refused = await p.controlPlane
      .setFieldIndexes("locks", "lockId", [{ order: "ASCENDING", queryScope: "COLLECTION_GROUP" }])
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: "INVALID_ARGUMENT", transient: false });
    expect(fake.mutations()).toHaveLength(mutations);
    const enabled = await enableTtl(p.controlPlane, definitions);
    expect(enabled.map((item) => [item.item, item.state])).toEqual([["ttl telemetry.expire_at", "CREATING"]]);

    expect(
      (await indexesStatus(p.controlPlane, definitions)).map((item) => [item.state, item.ready]),
    ).toEqual([
      ["CREATING", false],
      ["EXEMPT", true],
      ["READY", true],
      ["CREATING", false],
    ]);
    fake.finishBuilds();
    expect((await indexesStatus(p.controlPlane, definitions)).every((item) => item.ready)).toBe(true);
    expect(await ttlStatus(p.controlPlane, definitions)).toEqual([
      { item: "ttl telemetry.expire_at", state: "ACTIVE", ready: true },
    ]);
  });
});

describe("the gcloud control plane: production provisioning", () => {
  it("creates a named database with PITR and delete protection, schedules its backups, checks roles; a second run changes nothing", {
    timeout: 240_000,
  }, async () => {
    const p = project("gcloud-prod", "bas-prod");
    p.state.services.add("firestore.googleapis.com");
    const config: BootstrapConfig = {
      ...DEFAULT_BOOTSTRAP_CONFIG,
      createDatabaseIfMissing: true,
      databaseLocation: "us-east4",
      databaseId: "bas-prod",
      pointInTimeRecovery: true,
      deleteProtection: true,
      backupSchedules: [
        { recurrence: "daily", retentionSeconds: 7 * 86_400 },
        { recurrence: "weekly", day: "SUNDAY", retentionSeconds: 14 * 7 * 86_400 },
      ],
    };
    const run = (overrides: Partial<typeof config> = {}, allowWeakerProtection = false) =>
      runBootstrap({
        config: { ...config, ...overrides },
        projectId: p.projectId,
        controlPlane: p.controlPlane,
        firestore: () =>
          firestoreFor(null, { projectId: p.projectId, databaseId: "bas-prod" }, emulatorHost()),
        requiredRoles: ["roles/datastore.owner"],
        allowWeakerProtection,
        sleep: p.sleep,
      });
    const first = await run();
    expect(first.compliant).toBe(true);
    expect(first.checks.map((check) => `${check.check}:${check.status}`)).toEqual([
      "role:ok",
      "api:ok",
      "database:changed",
      "native_mode:ok",
      "active:ok",
      "point_in_time_recovery:ok",
      "delete_protection:ok",
      "backup_schedule:changed",
      "backup_schedule:changed",
      "document:changed",
    ]);
    const database = p.state.databases.get("bas-prod")!;
    expect(database.resource).toMatchObject({
      pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_ENABLED",
      deleteProtectionState: "DELETE_PROTECTION_ENABLED",
    });
    // gcloud's own shapes: `--retention=604800s`, `--day-of-week=SUN`.
    expect(
      [...database.backupSchedules.values()].map((s) => [s.retention, s.weeklyRecurrence?.day ?? "daily"]),
    ).toEqual([
      ["604800s", "daily"],
      ["8467200s", "SUNDAY"],
    ]);
    // testIamPermissions has no gcloud command: it went over REST with gcloud's token, to gcloud's endpoint.
    expect(
      fake.requests.some((request) => request.path === `/v1/projects/${p.projectId}:testIamPermissions`),
    ).toBe(true);

    const mutations = fake.mutations().length;
    const second = await run();
    expect(second.changes).toBe(0);
    expect(fake.mutations()).toHaveLength(mutations);

    // Weakening, with the flag: PITR off (`--no-enable-pitr`), a shorter retention (`schedules update`), a
    // weekly schedule moved (`schedules delete` + `create`).
    const weaker = await run(
      {
        pointInTimeRecovery: false,
        backupSchedules: [
          { recurrence: "daily", retentionSeconds: 2 * 86_400 },
          { recurrence: "weekly", day: "MONDAY", retentionSeconds: 14 * 7 * 86_400 },
        ],
      },
      true,
    );
    expect(weaker.compliant).toBe(true);
    expect(weaker.changes).toBe(4);
    expect(database.resource.pointInTimeRecoveryEnablement).toBe("POINT_IN_TIME_RECOVERY_DISABLED");
    expect(
      [...database.backupSchedules.values()].map((s) => [s.retention, s.weeklyRecurrence?.day ?? "daily"]),
    ).toEqual([
      ["172800s", "daily"],
      ["8467200s", "MONDAY"],
    ]);
  });

  it("a missing role fails with the grant command naming gcloud's account", { timeout: 60_000 }, async () => {
    const p = project("gcloud-roles");
    fake.provisioned(p.projectId);
    p.state.deniedPermissions.add("datastore.backupSchedules.update");
    const accountEnv = { ...env, CLOUDSDK_CORE_ACCOUNT: "ops@example.com" };
    const report = await runBootstrap({
      config: DEFAULT_BOOTSTRAP_CONFIG,
      projectId: p.projectId,
      controlPlane: createGcloudControlPlane({ projectId: p.projectId, env: accountEnv }),
      firestore: p.db,
      requiredRoles: ["roles/datastore.backupSchedulesAdmin"],
      sleep: p.sleep,
    });
    expect(report.checks[0]).toMatchObject({
      check: "role",
      status: "failed",
      detail: `roles/datastore.backupSchedulesAdmin: missing datastore.backupSchedules.update (grant it: gcloud projects add-iam-policy-binding ${p.projectId} --member=user:ops@example.com --role=roles/datastore.backupSchedulesAdmin)`,
    });
  });

  it("reports drift (gcloud's two field listings) and prunes it: index delete, field revert, TTL off", {
    timeout: 180_000,
  }, async () => {
    const p = project("gcloud-drift");
    fake.provisioned(p.projectId);
    const definitions: IndexDefinitions = {
      indexes: [],
      fieldOverrides: [{ collectionGroup: "telemetry", fieldPath: "timestamp_ms", ttl: false, indexes: [] }],
    };
    // Made by hand and left behind:
    await p.controlPlane.createIndex("audit_log", {
      queryScope: "COLLECTION",
      fields: [
        { fieldPath: "action", order: "ASCENDING" },
        { fieldPath: "timestamp_ms", order: "DESCENDING" },
      ],
    });
    await p.controlPlane.setFieldIndexes("devices", "name", []);
    await p.controlPlane.enableTtl("scratch", "expires");
    await deployIndexes(p.controlPlane, definitions);
    const drift = await findIndexDrift(p.controlPlane, definitions);
    expect(drift.map((entry) => entry.item)).toEqual([
      "index audit_log (action ASC, timestamp_ms DESC)",
      "field override devices.name (exempt)",
      "ttl scratch.expires",
    ]);
    const pruned = await pruneIndexDrift(p.controlPlane, drift);
    expect(pruned.map((item) => item.state)).toEqual(["REMOVING", "DELETED", "REVERTING"]);
    expect(await findIndexDrift(p.controlPlane, definitions)).toEqual([]);
    // The declared exemption stayed.
    expect(isExempt(await p.controlPlane.getField("telemetry", "timestamp_ms"))).toBe(true);
  });

  it("env apply sets up an environment (batch enable, account, roles, secrets from stdin), and a plan then finds nothing to do", {
    timeout: 300_000,
  }, async () => {
    const p = project("gcloud-env");
    const applied = await provisionEnvironment({
      controlPlane: p.controlPlane,
      environment: "stg",
      apply: true,
      secretValues: new Map([["firestore-project-id", p.projectId]]),
      sleep: p.sleep,
    });
    expect(applied.steps.filter((step) => step.status === "failed")).toEqual([]);
    expect(applied.compliant).toBe(true);
    const email = `bas-app-stg@${p.projectId}.iam.gserviceaccount.com`;
    expect(p.state.serviceAccounts.get(email)?.displayName).toBe("BAS App Stg");
    expect(p.state.policy.bindings).toContainEqual({
      role: "roles/datastore.user",
      members: [`serviceAccount:${email}`],
    });
    const secret = p.state.secrets.get("firestore-project-id")!;
    expect(Buffer.from(secret.versions[0]!.data, "base64").toString()).toBe(p.projectId);
    expect(secret.policy.bindings).toContainEqual({
      role: "roles/secretmanager.secretAccessor",
      members: [`serviceAccount:${email}`],
    });
    // The value went through gcloud's stdin, never its arguments.
    expect(await p.controlPlane.accessSecretVersion("firestore-project-id")).toEqual(
      Buffer.from(p.projectId),
    );

    const mutations = fake.mutations().length;
    const plan = await provisionEnvironment({
      controlPlane: p.controlPlane,
      environment: "stg",
      apply: false,
      sleep: p.sleep,
    });
    expect(plan.compliant).toBe(true);
    expect(fake.mutations()).toHaveLength(mutations);
  });
});

describe("classifyGcloudFailure", () => {
  // gcloud's own words, captured from gcloud 528 against the fake.
  it("reads the API status of gcloud's error line, and drops the access-token notice", () => {
    const error = classifyGcloudFailure(
      "ERROR: (gcloud.firestore.databases.describe) PERMISSION_DENIED: injected PERMISSION_DENIED. This command is authenticated with an access token from /tmp/token specified by the [auth/access_token_file] property\n",
      ["firestore", "databases", "describe", "--database=(default)"],
    );
    expect(error.status).toBe("PERMISSION_DENIED");
    expect(error.transient).toBe(false);
    expect(error.message).toBe(
      "gcloud firestore databases describe: PERMISSION_DENIED: injected PERMISSION_DENIED",
    );
  });

  it("treats gcloud giving up on a 503 (the raw HttpError) as transient", () => {
    const error = classifyGcloudFailure(
      `ERROR: (gcloud.services.enable) HttpError accessing <http://127.0.0.1:18766/v1/projects/p/services/firestore.googleapis.com:enable?alt=json>: response: <{'content-type': 'application/json', 'status': 503}>, content <{"error":{"code":503,"message":"injected UNAVAILABLE","status":"UNAVAILABLE"}}>
This may be due to network connectivity issues. Please check your network settings, and the status of the service you are trying to reach.
`,
    );
    expect(error.status).toBe("UNAVAILABLE");
    expect(error.httpStatus).toBe(503);
    expect(error.transient).toBe(true);
  });

  it("reads the IAM-policy commands' 'Status code: NNN.' line, and a policy conflict as a transient ABORTED", () => {
    const missing = classifyGcloudFailure(
      "ERROR: (gcloud.secrets.add-iam-policy-binding) Status code: 404. Secret [projects/1/secrets/s] not found or has no versions..\n",
    );
    expect(missing).toMatchObject({ status: "NOT_FOUND", httpStatus: 404, transient: false });
    const conflict = classifyGcloudFailure(
      "ERROR: (gcloud.projects.add-iam-policy-binding) Resource in projects [p:setIamPolicy] is the subject of a conflict: There were concurrent policy changes.\n",
    );
    expect(conflict).toMatchObject({ status: "ABORTED", transient: true });
  });

  it("maps 'Projects instance [...] not found' to NOT_FOUND, and an unknown failure to a permanent one", () => {
    expect(
      classifyGcloudFailure("ERROR: (gcloud.services.list) Projects instance [p] not found: nope\n").status,
    ).toBe("NOT_FOUND");
    const unknown = classifyGcloudFailure("ERROR: (gcloud.firestore) something odd happened\n");
    expect(unknown.status).toBe("UNKNOWN");
    expect(unknown.transient).toBe(false);
  });
});

function isExempt(field: Field): boolean {
  return field.indexConfig?.usesAncestorConfig === false && (field.indexConfig.indexes ?? []).length === 0;
}
