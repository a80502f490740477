import { Timestamp } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, uniqueProjectId } from "../../../../test/firestore.js";
import type { ControlPlane } from "../gcp/control-plane.js";
import { FakeControlPlane, restControlPlaneOn } from "../gcp/testing/fake-control-plane.js";
import { type BootstrapConfig, DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";
import { type BootstrapReport, runBootstrap } from "./run.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

/** A fresh project on both sides: the fake control plane and the real emulator. */
function project(label: string) {
  const projectId = uniqueProjectId(label);
  const db = emulatorClient(projectId);
  const controlPlane = restControlPlaneOn(fake, projectId);
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
  };
  const requestsFor = () =>
    fake.requests.filter((request) => request.path.includes(`/projects/${projectId}/`));
  const run = (
    config: Partial<BootstrapConfig> = {},
    options: { preflight?: boolean; controlPlane?: ControlPlane | null } = {},
  ) =>
    runBootstrap({
      config: {
        ...DEFAULT_BOOTSTRAP_CONFIG,
        createDatabaseIfMissing: true,
        databaseLocation: "us-east4",
        ...config,
      },
      projectId,
      controlPlane: options.controlPlane === undefined ? controlPlane : options.controlPlane,
      firestore: db,
      preflight: options.preflight ?? false,
      sleep,
    });
  const document = () => db.collection("zarch_sessions").doc("sessions").get();
  return {
    projectId,
    db,
    controlPlane,
    delays,
    sleep,
    run,
    document,
    requestsFor,
    state: fake.project(projectId),
  };
}

function statuses(report: BootstrapReport) {
  return Object.fromEntries(report.checks.map((check) => [check.check, check.status]));
}

function detail(report: BootstrapReport, check: string) {
  return report.checks.find((result) => result.check === check)?.detail ?? "";
}

describe("runBootstrap against the fake control plane and the emulator", () => {
  it("on a fresh project enables the API, creates the database in database_location, then the document", async () => {
    const p = project("first-run");
    const report = await p.run();
    expect(report.compliant).toBe(true);
    expect(statuses(report)).toEqual({
      api: "changed",
      database: "changed",
      native_mode: "ok",
      active: "ok",
      // Not managed by this configuration: reported as they are.
      point_in_time_recovery: "skipped",
      delete_protection: "skipped",
      backup_schedule: "skipped",
      document: "changed",
    });
    expect(detail(report, "point_in_time_recovery")).toBe(
      "point-in-time recovery is disabled (not managed: point_in_time_recovery is unset)",
    );
    expect(p.state.firestoreEnabled).toBe(true);
    expect(p.state.database).toMatchObject({ locationId: "us-east4", type: "FIRESTORE_NATIVE" });
    const snapshot = await p.document();
    expect(snapshot.data()).toMatchObject({ schema_version: 1 });
    expect(snapshot.get("created_at")).toBeInstanceOf(Timestamp);
    expect(snapshot.get("updated_at")).toBeInstanceOf(Timestamp);
    expect(report.changes).toBe(3);
  });

  it("a second run changes nothing: same created_at, zero writes, no control-plane mutation", async () => {
    const p = project("second-run");
    await p.run();
    const before = await p.document();
    const mutationsBefore = p.requestsFor().filter((request) => request.method !== "GET").length;
    const report = await p.run();
    const after = await p.document();
    expect(report.compliant).toBe(true);
    expect(report.changes).toBe(0);
    expect(report.checks.every((check) => check.status === "ok" || check.status === "skipped")).toBe(true);
    expect(after.get("created_at").isEqual(before.get("created_at"))).toBe(true);
    expect(after.updateTime!.isEqual(before.updateTime!)).toBe(true);
    expect(p.requestsFor().filter((request) => request.method !== "GET")).toHaveLength(mutationsBefore);
  });

  it("preflight on a fresh project fails naming each missing piece and changes nothing", async () => {
    const p = project("preflight-fresh");
    const report = await p.run({}, { preflight: true });
    expect(report.compliant).toBe(false);
    expect(report.preflight).toBe(true);
    expect(statuses(report)).toMatchObject({ api: "failed", database: "failed", document: "failed" });
    expect(detail(report, "api")).toContain("firestore.googleapis.com is not enabled");
    expect(detail(report, "database")).toContain("database (default)");
    expect(detail(report, "document")).toContain("zarch_sessions/sessions");
    expect(p.requestsFor().filter((request) => request.method !== "GET")).toEqual([]);
    expect(p.state.firestoreEnabled).toBe(false);
    expect((await p.document()).exists).toBe(false);
    expect(report.changes).toBe(0);
  });

  it("preflight_only in the configuration is preflight too", async () => {
    const p = project("preflight-config");
    fake.provisioned(p.projectId);
    const report = await p.run({ preflightOnly: true });
    expect(report.preflight).toBe(true);
    expect(statuses(report)).toMatchObject({
      api: "ok",
      database: "ok",
      native_mode: "ok",
      active: "ok",
      document: "failed",
    });
    expect(detail(report, "document")).toContain("missing (preflight: would create it)");
    expect((await p.document()).exists).toBe(false);
  });

  it("fails on a Datastore-mode database, and writes no document", async () => {
    const p = project("datastore");
    fake.provisioned(p.projectId, "DATASTORE_MODE");
    const report = await p.run();
    expect(report.compliant).toBe(false);
    expect(statuses(report)).toMatchObject({ native_mode: "failed", document: "skipped" });
    expect(detail(report, "native_mode")).toContain("DATASTORE_MODE");
    expect((await p.document()).exists).toBe(false);
  });

  it("fails when the database is missing and create_database_if_missing is false", async () => {
    const p = project("no-create");
    p.state.firestoreEnabled = true;
    const report = await p.run({ createDatabaseIfMissing: false });
    expect(report.compliant).toBe(false);
    expect(detail(report, "database")).toBe(
      "database (default) does not exist (create_database_if_missing is false)",
    );
    expect(p.state.database).toBeNull();
    expect(p.requestsFor().filter((request) => request.method !== "GET")).toEqual([]);
  });

  it("fails when the API is disabled and enable_api is false", async () => {
    const p = project("no-enable");
    const report = await p.run({ enableApi: false });
    expect(report.compliant).toBe(false);
    expect(detail(report, "api")).toBe("firestore.googleapis.com is not enabled and enable_api is false");
    expect(p.state.firestoreEnabled).toBe(false);
  });

  it("creates the database in the project's default region when database_location is unset, and fails without one", async () => {
    const p = project("default-region");
    const regional = restControlPlaneOn(fake, p.projectId, { region: "europe-west3" });
    const report = await p.run({ databaseLocation: undefined }, { controlPlane: regional });
    expect(report.compliant).toBe(true);
    expect(p.state.database?.locationId).toBe("europe-west3");

    const q = project("no-region");
    const regionless = restControlPlaneOn(fake, q.projectId);
    const failed = await q.run({ databaseLocation: undefined }, { controlPlane: regionless });
    expect(detail(failed, "database")).toBe(
      "database (default) does not exist and database_location is unset with no project default region",
    );
    expect(q.state.database).toBeNull();
  });

  it("fails after exactly retry_attempts tries, with the configured delays, when the database never becomes ACTIVE", async () => {
    const p = project("never-ready");
    p.state.firestoreEnabled = true;
    fake.createDatabasePolls = Number.POSITIVE_INFINITY;
    try {
      const report = await p.run({
        retryAttempts: 4,
        retryInitialDelaySeconds: 0.5,
        retryBackoffMultiplier: 3,
      });
      expect(report.compliant).toBe(false);
      expect(statuses(report)).toMatchObject({ database: "changed", active: "failed", document: "skipped" });
      expect(detail(report, "active")).toBe(
        "database (default) did not become ACTIVE after 4 attempts (waited 0.5s, 1.5s, 4.5s)",
      );
      expect(p.delays).toEqual([500, 1500, 4500]);
      const polls = p.requestsFor().filter((request) => request.path.includes("/operations/"));
      expect(polls).toHaveLength(4);
    } finally {
      fake.createDatabasePolls = 1;
    }
  });

  it("retries transient faults (503, 429) with the configured backoff and then succeeds", async () => {
    const p = project("transient");
    fake.provisioned(p.projectId);
    fake.injectFault({
      method: "GET",
      path: new RegExp(`/projects/${p.projectId}/databases/\\(default\\)$`),
      status: 503,
      times: 1,
    });
    fake.injectFault({
      method: "GET",
      path: new RegExp(`/projects/${p.projectId}/services/`),
      status: 429,
      times: 2,
    });
    const report = await p.run({ retryAttempts: 3, retryInitialDelaySeconds: 2, retryBackoffMultiplier: 2 });
    expect(report.compliant).toBe(true);
    // Two 429s on the service (2 s, then 4 s), one 503 on the database (2 s).
    expect(p.delays).toEqual([2000, 4000, 2000]);
    expect(p.requestsFor().filter((request) => request.path.endsWith("/databases/(default)"))).toHaveLength(
      2,
    );
  });

  it("gives up on a transient fault that outlasts retry_attempts, naming it", async () => {
    const p = project("transient-forever");
    fake.provisioned(p.projectId);
    fake.injectFault({ path: new RegExp(`/projects/${p.projectId}/services/`), status: 503, times: 3 });
    const report = await p.run({ retryAttempts: 3 });
    expect(report.compliant).toBe(false);
    expect(detail(report, "api")).toBe("UNAVAILABLE: Injected fault. (still failing after retries)");
    expect(p.delays).toEqual([1000, 2000]);
  });

  it("fails fast on a permanent fault (403), with the API's reason, without retrying", async () => {
    const p = project("permanent");
    fake.provisioned(p.projectId);
    fake.injectFault({
      path: new RegExp(`/projects/${p.projectId}/databases/\\(default\\)$`),
      status: 403,
      message: "The caller does not have permission",
      times: 5,
    });
    const report = await p.run();
    expect(report.compliant).toBe(false);
    expect(detail(report, "database")).toBe("PERMISSION_DENIED: The caller does not have permission");
    expect(p.delays).toEqual([]);
    expect(p.requestsFor().filter((request) => request.path.endsWith("/databases/(default)"))).toHaveLength(
      1,
    );
    expect((await p.document()).exists).toBe(false);
  });

  it("fails fast on an invalid argument (400) without retrying", async () => {
    const p = project("invalid");
    p.state.firestoreEnabled = true;
    fake.injectFault({
      method: "POST",
      path: new RegExp(`/projects/${p.projectId}/databases$`),
      status: 400,
      message: "Invalid locationId",
    });
    const report = await p.run();
    expect(report.compliant).toBe(false);
    expect(detail(report, "database")).toBe("INVALID_ARGUMENT: Invalid locationId");
    expect(p.delays).toEqual([]);
    expect(p.state.database).toBeNull();
  });

  it("refuses a schema downgrade and leaves the document as it was", async () => {
    const p = project("downgrade");
    fake.provisioned(p.projectId);
    await p.run({ schemaVersion: 3 });
    const before = await p.document();
    const report = await p.run({ schemaVersion: 2 });
    expect(report.compliant).toBe(false);
    expect(detail(report, "document")).toContain(
      "schema downgrade refused: the document is at schema_version 3",
    );
    const after = await p.document();
    expect(after.updateTime!.isEqual(before.updateTime!)).toBe(true);
  });

  it("reconciles a safe schema upgrade without touching created_at; preflight only reports it", async () => {
    const p = project("upgrade");
    fake.provisioned(p.projectId);
    await p.run({ schemaVersion: 1 });
    const before = await p.document();
    const preflight = await p.run({ schemaVersion: 2 }, { preflight: true });
    expect(preflight.compliant).toBe(false);
    expect(detail(preflight, "document")).toContain(
      "drifted: schema_version 1, configured 2 (preflight: would upgrade it)",
    );
    expect((await p.document()).updateTime!.isEqual(before.updateTime!)).toBe(true);

    const report = await p.run({ schemaVersion: 2 });
    expect(report.compliant).toBe(true);
    expect(detail(report, "document")).toBe(
      "upgraded bootstrap document zarch_sessions/sessions from schema_version 1 to 2",
    );
    const after = await p.document();
    expect(after.get("schema_version")).toBe(2);
    expect(after.get("created_at").isEqual(before.get("created_at"))).toBe(true);
    expect(after.get("updated_at").toMillis()).toBeGreaterThan(before.get("updated_at").toMillis());
  });

  it("refuses an incompatible document (no created_at, or a schema_version that is not a positive integer)", async () => {
    const p = project("incompatible");
    fake.provisioned(p.projectId);
    await p.db.collection("zarch_sessions").doc("sessions").set({ schema_version: "one" });
    const report = await p.run();
    expect(report.compliant).toBe(false);
    expect(detail(report, "document")).toContain(
      'incompatible: schema_version is "one", not a positive integer',
    );

    await p.db.collection("zarch_sessions").doc("sessions").set({ schema_version: 1 });
    expect(detail(await p.run(), "document")).toContain("created_at is missing or not a timestamp");
  });

  it("two concurrent first runs leave one document, created once, and both end compliant", async () => {
    const p = project("concurrent");
    fake.provisioned(p.projectId);
    const [first, second] = await Promise.all([p.run(), p.run()]);
    expect(first.compliant && second.compliant).toBe(true);
    const creations = [first, second].filter((report) => detail(report, "document").startsWith("created"));
    expect(creations).toHaveLength(1);
    expect(first.changes + second.changes).toBe(1);
    const documents = await p.db.collection("zarch_sessions").get();
    expect(documents.size).toBe(1);
  });

  it("without a control plane (the emulator) skips the control-plane checks and reconciles the document", async () => {
    const p = project("no-control-plane");
    const report = await p.run({}, { controlPlane: null });
    expect(report.compliant).toBe(true);
    expect(report.controlPlane).toBe("none");
    expect(statuses(report)).toEqual({
      api: "skipped",
      database: "skipped",
      native_mode: "skipped",
      active: "skipped",
      point_in_time_recovery: "skipped",
      delete_protection: "skipped",
      backup_schedule: "skipped",
      document: "changed",
    });
    expect(p.requestsFor()).toEqual([]);
    expect((await p.document()).get("schema_version")).toBe(1);
  });

  it("honours collection_name and doc_id", async () => {
    const p = project("custom-path");
    const report = await p.run({ collectionName: "meta", docId: "bootstrap" }, { controlPlane: null });
    expect(report.compliant).toBe(true);
    expect((await p.db.collection("meta").doc("bootstrap").get()).exists).toBe(true);
    expect((await p.document()).exists).toBe(false);
  });
});
