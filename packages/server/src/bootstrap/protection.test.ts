import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { firestoreFor } from "../gcp/select.js";
import { FakeControlPlane, restControlPlaneOn } from "../gcp/testing/fake-control-plane.js";
import { type BootstrapConfig, DEFAULT_BOOTSTRAP_CONFIG, parseBootstrapConfig } from "./config.js";
import { type BootstrapReport, runBootstrap } from "./run.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

const WEEK = 7 * 86_400;

function project(label: string, databaseId = "(default)") {
  const projectId = uniqueProjectId(label);
  const controlPlane = restControlPlaneOn(fake, projectId, { databaseId });
  const delays: number[] = [];
  const run = (
    config: Partial<BootstrapConfig> = {},
    options: { preflight?: boolean; allowWeakerProtection?: boolean; requiredRoles?: string[] } = {},
  ) =>
    runBootstrap({
      config: {
        ...DEFAULT_BOOTSTRAP_CONFIG,
        createDatabaseIfMissing: true,
        databaseLocation: "us-east4",
        databaseId,
        ...config,
      },
      projectId,
      controlPlane,
      firestore: () => firestoreFor(null, { projectId, databaseId }, emulatorHost()),
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...options,
    });
  const mutations = () =>
    fake.mutations().filter((request) => request.path.includes(`/projects/${projectId}`));
  const state = fake.project(projectId);
  return {
    projectId,
    controlPlane,
    run,
    delays,
    mutations,
    state,
    database: () => state.databases.get(databaseId),
  };
}

function lines(report: BootstrapReport) {
  return report.checks.map(
    (check) => `${check.check}${check.subject ? ` ${check.subject}` : ""}: ${check.status}`,
  );
}

function detail(report: BootstrapReport, check: string, subject?: string) {
  return report.checks.find(
    (result) => result.check === check && (subject === undefined || result.subject === subject),
  )?.detail;
}

const PRODUCTION: Partial<BootstrapConfig> = {
  pointInTimeRecovery: true,
  deleteProtection: true,
  backupSchedules: [
    { recurrence: "daily", retentionSeconds: WEEK },
    { recurrence: "weekly", day: "SUNDAY", retentionSeconds: 14 * WEEK },
  ],
};

describe("production provisioning: a named database, protected and backed up", () => {
  it("creates the named database with PITR and delete protection, adds both schedules, writes the document there; a second run changes nothing", async () => {
    const p = project("named-prod", "bas-prod");
    const first = await p.run(PRODUCTION);
    expect(first.compliant).toBe(true);
    expect(first.databaseId).toBe("bas-prod");
    expect(lines(first)).toEqual([
      "api: changed",
      "database: changed",
      "native_mode: ok",
      "active: ok",
      "point_in_time_recovery: ok",
      "delete_protection: ok",
      "backup_schedule daily: changed",
      "backup_schedule weekly: changed",
      "document: changed",
    ]);
    expect(detail(first, "database")).toBe(
      "created database bas-prod in us-east4 (Native mode, with point-in-time recovery and delete protection)",
    );
    expect(p.database()?.resource).toMatchObject({
      name: `projects/${p.projectId}/databases/bas-prod`,
      pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_ENABLED",
      deleteProtectionState: "DELETE_PROTECTION_ENABLED",
    });
    expect(
      [...p.database()!.backupSchedules.values()].map((s) => [
        s.retention,
        s.dailyRecurrence,
        s.weeklyRecurrence,
      ]),
    ).toEqual([
      ["604800s", {}, undefined],
      ["8467200s", undefined, { day: "SUNDAY" }],
    ]);
    expect(p.state.database).toBeNull();
    // The document is in the named database, not in (default).
    const named = emulatorClient(p.projectId);
    expect((await named.collection("zarch_sessions").doc("sessions").get()).exists).toBe(false);
    const db = await firestoreFor(null, { projectId: p.projectId, databaseId: "bas-prod" }, emulatorHost());
    expect((await db.collection("zarch_sessions").doc("sessions").get()).exists).toBe(true);

    const before = p.mutations().length;
    const second = await p.run(PRODUCTION);
    expect(second.compliant).toBe(true);
    expect(second.changes).toBe(0);
    expect(detail(second, "backup_schedule", "weekly")).toBe(
      "backup schedule weekly on SUNDAY, retention 14w",
    );
    expect(p.mutations()).toHaveLength(before);
  });

  it("preflight names each protection it would add and changes nothing; the run then adds them through long-running updates", async () => {
    const p = project("harden");
    fake.provisioned(p.projectId);
    const preflight = await p.run(PRODUCTION, { preflight: true });
    expect(preflight.compliant).toBe(false);
    expect(detail(preflight, "point_in_time_recovery")).toBe(
      "point-in-time recovery is disabled (preflight: would enable it)",
    );
    expect(detail(preflight, "delete_protection")).toBe(
      "delete protection is disabled (preflight: would enable it)",
    );
    expect(detail(preflight, "backup_schedule", "daily")).toBe(
      "no daily backup schedule (preflight: would create daily, retention 1w)",
    );
    expect(p.mutations()).toEqual([]);

    const run = await p.run(PRODUCTION);
    expect(run.compliant).toBe(true);
    expect(detail(run, "point_in_time_recovery")).toBe("enabled point-in-time recovery");
    expect(detail(run, "delete_protection")).toBe("enabled delete protection");
    // One PATCH per setting, each with its own update mask, each a long-running operation polled to done.
    const patches = p.mutations().filter((request) => request.method === "PATCH");
    expect(patches.map((request) => request.query.updateMask)).toEqual([
      "pointInTimeRecoveryEnablement",
      "deleteProtectionState",
    ]);
    expect(p.database()?.resource).toMatchObject({
      pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_ENABLED",
      versionRetentionPeriod: "604800s",
      deleteProtectionState: "DELETE_PROTECTION_ENABLED",
    });
    expect(run.changes).toBe(4 + 1);
  });

  it("never weakens protection without --allow-weaker-protection, and does with it", async () => {
    const p = project("weaken");
    fake.provisioned(p.projectId);
    await p.run(PRODUCTION);
    const weaker: Partial<BootstrapConfig> = {
      pointInTimeRecovery: false,
      deleteProtection: false,
      backupSchedules: [{ recurrence: "daily", retentionSeconds: 2 * 86_400 }],
    };
    const before = p.mutations().length;
    const refused = await p.run(weaker, { preflight: true });
    expect(refused.compliant).toBe(false);
    expect(detail(refused, "point_in_time_recovery")).toBe(
      "point-in-time recovery is enabled and point_in_time_recovery is false: turning it off drops the 7-day recovery window; rerun with --allow-weaker-protection to do so",
    );
    expect(detail(refused, "delete_protection")).toMatch(
      /turning it off lets the database be deleted; rerun with --allow-weaker-protection/,
    );
    expect(detail(refused, "backup_schedule", "daily")).toBe(
      "backup schedule is daily, retention 1w, configured daily, retention 2d: a shorter retention keeps fewer backups; rerun with --allow-weaker-protection to do so",
    );
    // The weekly schedule is not in this configuration: left alone, and said so.
    expect(detail(refused, "backup_schedule", "weekly")).toBe(
      "backup schedule weekly on SUNDAY, retention 14w (not in the configuration; left as it is)",
    );
    // Outside preflight the run stops at the first refusal; nothing is changed either way.
    const stopped = await p.run(weaker);
    expect(lines(stopped).slice(4)).toEqual([
      "point_in_time_recovery: failed",
      "delete_protection: skipped",
      "backup_schedule: skipped",
      "document: skipped",
    ]);
    expect(p.mutations()).toHaveLength(before);

    const allowed = await p.run(weaker, { allowWeakerProtection: true });
    expect(allowed.compliant).toBe(true);
    expect(lines(allowed).filter((line) => line.endsWith("changed"))).toEqual([
      "point_in_time_recovery: changed",
      "delete_protection: changed",
      "backup_schedule daily: changed",
    ]);
    expect(detail(allowed, "backup_schedule", "daily")).toBe(
      "changed the backup schedule from daily, retention 1w to daily, retention 2d",
    );
    expect(p.database()?.resource.deleteProtectionState).toBe("DELETE_PROTECTION_DISABLED");
  });

  it("raises a retention without the flag; moves a weekly schedule to another day only with it (delete, then create)", async () => {
    const p = project("schedules");
    fake.provisioned(p.projectId);
    await p.run({ backupSchedules: [{ recurrence: "weekly", day: "MONDAY", retentionSeconds: 2 * WEEK }] });
    const raised = await p.run({
      backupSchedules: [{ recurrence: "weekly", day: "MONDAY", retentionSeconds: 4 * WEEK }],
    });
    expect(detail(raised, "backup_schedule", "weekly")).toBe(
      "changed the backup schedule from weekly on MONDAY, retention 2w to weekly on MONDAY, retention 4w",
    );
    const moved = {
      backupSchedules: [
        { recurrence: "weekly" as const, day: "FRIDAY" as const, retentionSeconds: 4 * WEEK },
      ],
    };
    const refused = await p.run(moved);
    expect(detail(refused, "backup_schedule", "weekly")).toMatch(
      /changing the day replaces the schedule \(deleted, then created\); rerun with --allow-weaker-protection/,
    );
    const replaced = await p.run(moved, { allowWeakerProtection: true });
    expect(replaced.compliant).toBe(true);
    expect(replaced.changes).toBe(2);
    expect([...p.database()!.backupSchedules.values()].map((s) => s.weeklyRecurrence?.day)).toEqual([
      "FRIDAY",
    ]);
  });

  it("retries a 503 on the database update and a 429 on the schedule listing with the configured backoff", async () => {
    const p = project("protect-faults");
    fake.provisioned(p.projectId);
    const database = new RegExp(`/projects/${p.projectId}/databases/\\(default\\)$`);
    fake.injectFault({ method: "PATCH", path: database, status: 503 });
    fake.injectFault({ method: "GET", path: /\/backupSchedules$/, status: 429, times: 2 });
    const report = await p.run({ ...PRODUCTION, retryInitialDelaySeconds: 0.5 });
    expect(report.compliant).toBe(true);
    expect(p.delays).toEqual([500, 500, 1000]);
  });

  it("fails fast on a 403 updating the database, naming the API's reason", async () => {
    const p = project("protect-403");
    fake.provisioned(p.projectId);
    fake.injectFault({
      method: "PATCH",
      path: /\/databases\/\(default\)$/,
      status: 403,
      message: "Missing permission datastore.databases.update",
      times: 3,
    });
    const report = await p.run({ pointInTimeRecovery: true });
    expect(report.compliant).toBe(false);
    expect(detail(report, "point_in_time_recovery")).toBe(
      "PERMISSION_DENIED: Missing permission datastore.databases.update",
    );
    expect(p.delays).toEqual([]);
  });

  it("a schedule another run created meanwhile (409) fails the check with the API's answer", async () => {
    const p = project("protect-409");
    fake.provisioned(p.projectId);
    fake.injectFault({
      method: "POST",
      path: /\/backupSchedules$/,
      status: 409,
      message: "A daily backup schedule already exists.",
    });
    const report = await p.run({ backupSchedules: [{ recurrence: "daily", retentionSeconds: WEEK }] });
    expect(detail(report, "backup_schedule")).toBe("ALREADY_EXISTS: A daily backup schedule already exists.");
  });
});

describe("required_roles", () => {
  const roles = ["roles/datastore.owner", "roles/serviceusage.serviceUsageAdmin"];

  it("reports each role held, tested with testIamPermissions, before anything else", async () => {
    const p = project("roles-held");
    fake.provisioned(p.projectId);
    const report = await p.run({}, { requiredRoles: roles });
    expect(report.compliant).toBe(true);
    expect(report.checks.slice(0, 2)).toEqual([
      {
        check: "role",
        subject: "roles/datastore.owner",
        status: "ok",
        detail: "roles/datastore.owner: held (19 permissions checked)",
      },
      {
        check: "role",
        subject: "roles/serviceusage.serviceUsageAdmin",
        status: "ok",
        detail: "roles/serviceusage.serviceUsageAdmin: held (4 permissions checked)",
      },
    ]);
    const tested = fake.requests.filter(
      (request) => request.path === `/v1/projects/${p.projectId}:testIamPermissions`,
    );
    expect(tested).toHaveLength(1);
    expect((tested[0]!.body as { permissions: string[] }).permissions).toHaveLength(23);
  });

  it("a missing role fails the run (and preflight) with a line naming the role and the grant command", async () => {
    const p = project("roles-missing");
    fake.provisioned(p.projectId);
    p.state.deniedPermissions.add("serviceusage.services.enable");
    const report = await p.run({}, { requiredRoles: roles });
    expect(report.compliant).toBe(false);
    expect(detail(report, "role", "roles/serviceusage.serviceUsageAdmin")).toBe(
      `roles/serviceusage.serviceUsageAdmin: missing serviceusage.services.enable (grant it: gcloud projects add-iam-policy-binding ${p.projectId} --member=user:EMAIL --role=roles/serviceusage.serviceUsageAdmin)`,
    );
    expect(lines(report).slice(2, 4)).toEqual(["api: skipped", "database: skipped"]);
    expect(p.mutations()).toEqual([]);

    const preflight = await p.run({}, { requiredRoles: roles, preflight: true });
    expect(lines(preflight).slice(0, 3)).toEqual([
      "role roles/datastore.owner: ok",
      "role roles/serviceusage.serviceUsageAdmin: failed",
      "api: ok",
    ]);
  });

  it("a Resource Manager outage is retried, then named on the role line", async () => {
    const p = project("roles-503");
    fake.provisioned(p.projectId);
    fake.injectFault({ path: /:testIamPermissions$/, status: 503, times: 3 });
    const report = await p.run({}, { requiredRoles: roles });
    expect(detail(report, "role")).toBe("UNAVAILABLE: Injected fault. (still failing after retries)");
    expect(p.delays).toEqual([1000, 2000]);
  });
});

describe("the new configuration keys", () => {
  it("parse from the seed's YAML shape beside the ten", () => {
    const { config, requiredRoles } = parseBootstrapConfig(`
extensions:
  firestore-sessions:
    type: firestore-sessions
    required_roles: [roles/datastore.owner, roles/datastore.backupSchedulesAdmin]
    config:
      database_id: bas-prod
      point_in_time_recovery: true
      delete_protection: true
      backup_schedule:
        - { recurrence: daily, retention: 7d }
        - { recurrence: weekly, day_of_week: sunday, retention: 14w }
`);
    expect(config).toMatchObject(PRODUCTION);
    expect(config.databaseId).toBe("bas-prod");
    expect(requiredRoles).toEqual(["roles/datastore.owner", "roles/datastore.backupSchedulesAdmin"]);
  });
});
