import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, uniqueProjectId } from "../../../../test/firestore.js";
import { DEFAULT_BOOTSTRAP_CONFIG } from "../bootstrap/config.js";
import {
  deployIndexes,
  enableTtl,
  type IndexDefinitions,
  indexesStatus,
  ttlStatus,
} from "../bootstrap/indexes.js";
import { runBootstrap } from "../bootstrap/run.js";
import { classifyGcloudFailure, createGcloudControlPlane } from "./gcloud.js";
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

function project(label: string) {
  const projectId = uniqueProjectId(label);
  const db = emulatorClient(projectId);
  const controlPlane = createGcloudControlPlane({ projectId, env });
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

  it("maps 'Projects instance [...] not found' to NOT_FOUND, and an unknown failure to a permanent one", () => {
    expect(
      classifyGcloudFailure("ERROR: (gcloud.services.list) Projects instance [p] not found: nope\n").status,
    ).toBe("NOT_FOUND");
    const unknown = classifyGcloudFailure("ERROR: (gcloud.firestore) something odd happened\n");
    expect(unknown.status).toBe("UNKNOWN");
    expect(unknown.transient).toBe(false);
  });
});
