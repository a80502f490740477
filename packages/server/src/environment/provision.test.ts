import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueProjectId } from "../../../../test/firestore.js";
import { ConfigError } from "../config/config-error.js";
import { FakeControlPlane, restControlPlaneOn } from "../gcp/testing/fake-control-plane.js";
import { type EnvironmentReport, provisionEnvironment } from "./provision.js";
import { parseSecretValues } from "./secret-values.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

function project(label: string) {
  const projectId = uniqueProjectId(label);
  const controlPlane = restControlPlaneOn(fake, projectId);
  const delays: number[] = [];
  const run = (apply: boolean, secretValues?: Map<string, string>) =>
    provisionEnvironment({
      controlPlane,
      environment: "prod",
      apply,
      ...(secretValues && { secretValues }),
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
  const mutations = () =>
    fake.mutations().filter((request) => request.path.includes(`/projects/${projectId}`));
  const email = `bas-app-prod@${projectId}.iam.gserviceaccount.com`;
  return { projectId, run, delays, mutations, email, state: fake.project(projectId) };
}

function lines(report: EnvironmentReport) {
  return report.steps.map((step) => `${step.step} ${step.subject}: ${step.status}`);
}

describe("env plan and apply", () => {
  it("plan on a fresh project names every change apply would make, and changes nothing", async () => {
    const p = project("env-plan");
    const plan = await p.run(false);
    expect(plan.compliant).toBe(false);
    expect(plan.changes).toBe(0);
    expect(lines(plan)).toEqual([
      "api firestore.googleapis.com: pending",
      "api secretmanager.googleapis.com: pending",
      "api monitoring.googleapis.com: pending",
      "api iam.googleapis.com: pending",
      `service_account ${p.email}: pending`,
      "role roles/datastore.user: pending",
      "secret firestore-project-id: pending",
      "secret telemetry-backfill-start-ms: skipped",
      "secret auth-admin-username: skipped",
      "secret auth-admin-password-hash: skipped",
      "secret_access firestore-project-id: pending",
    ]);
    expect(plan.steps[4]!.detail).toBe("would create it (once iam.googleapis.com is enabled)");
    expect(p.mutations()).toEqual([]);
  });

  it("apply enables the APIs in one batch, creates the account, grants its role and creates the secrets given; again, it changes nothing", async () => {
    const p = project("env-apply");
    const values = new Map([
      ["firestore-project-id", p.projectId],
      ["auth-admin-username", "facility-admin"],
    ]);
    const applied = await p.run(true, values);
    expect(applied.compliant).toBe(true);
    expect(lines(applied)).toEqual([
      "api firestore.googleapis.com: changed",
      "api secretmanager.googleapis.com: changed",
      "api monitoring.googleapis.com: changed",
      "api iam.googleapis.com: changed",
      `service_account ${p.email}: changed`,
      "role roles/datastore.user: changed",
      "secret firestore-project-id: changed",
      "secret telemetry-backfill-start-ms: skipped",
      "secret auth-admin-username: changed",
      "secret auth-admin-password-hash: skipped",
      "secret_access firestore-project-id: changed",
      "secret_access auth-admin-username: changed",
    ]);
    // batchEnable, createServiceAccount, setIamPolicy, 2 × (create + addVersion), 2 × secret setIamPolicy.
    expect(applied.changes).toBe(9);
    expect(p.mutations().filter((request) => request.path.endsWith(":batchEnable"))).toHaveLength(1);
    expect(p.state.serviceAccounts.get(p.email)).toMatchObject({ displayName: "BAS App Prod" });
    expect(p.state.policy.bindings).toEqual([
      { role: "roles/datastore.user", members: [`serviceAccount:${p.email}`] },
    ]);
    // Secret-level access, not project-wide: the account reads its secrets and nothing else.
    expect(p.state.secrets.get("firestore-project-id")!.policy.bindings).toEqual([
      { role: "roles/secretmanager.secretAccessor", members: [`serviceAccount:${p.email}`] },
    ]);
    expect(
      Buffer.from(p.state.secrets.get("firestore-project-id")!.versions[0]!.data, "base64").toString(),
    ).toBe(p.projectId);
    // No value in the report.
    expect(JSON.stringify(applied)).not.toContain("facility-admin");

    const before = p.mutations().length;
    const again = await p.run(true, values);
    expect(again.changes).toBe(0);
    expect(again.steps.find((step) => step.subject === "auth-admin-username")!.detail).toBe(
      "exists (the value given was not used: a secret is never overwritten; add a version to rotate it)",
    );
    const plan = await p.run(false);
    expect(plan.compliant).toBe(true);
    expect(p.mutations()).toHaveLength(before);
  });

  it("apply without the required secret's value fails that step, naming how to give it", async () => {
    const p = project("env-no-value");
    const applied = await p.run(true);
    expect(applied.compliant).toBe(false);
    const secret = applied.steps.find(
      (step) => step.subject === "firestore-project-id" && step.step === "secret",
    );
    expect(secret).toMatchObject({
      status: "failed",
      detail: "is absent: give its value on stdin (firestore-project-id=… with --secrets-stdin)",
    });
    expect(p.state.secrets.size).toBe(0);
  });

  it("waits out IAM's propagation of a new account: the refused grant is retried", async () => {
    const p = project("env-propagation");
    fake.serviceAccountPropagation = 1;
    try {
      const applied = await p.run(true, new Map([["firestore-project-id", p.projectId]]));
      expect(applied.compliant).toBe(true);
      expect(p.delays).toEqual([1000]);
    } finally {
      fake.serviceAccountPropagation = 0;
    }
  });

  it("a concurrent policy change (409 ABORTED on the etag) is re-read and retried, and the grant lands once", async () => {
    const p = project("env-conflict");
    fake.injectFault({
      path: new RegExp(`/projects/${p.projectId}:setIamPolicy$`),
      status: 409,
      reason: "ABORTED",
    });
    const applied = await p.run(true, new Map([["firestore-project-id", p.projectId]]));
    expect(applied.compliant).toBe(true);
    expect(p.delays).toEqual([1000]);
    const reads = fake.requests.filter(
      (request) => request.path === `/v1/projects/${p.projectId}:getIamPolicy`,
    );
    // One read for the plan of the grant, then one per read-modify-write attempt.
    expect(reads).toHaveLength(3);
    expect(p.state.policy.bindings).toEqual([
      { role: "roles/datastore.user", members: [`serviceAccount:${p.email}`] },
    ]);
  });

  it("retries transient faults (503 listing services, 429 enabling them) and fails fast on a 403", async () => {
    const p = project("env-faults");
    fake.injectFault({ method: "GET", path: new RegExp(`/projects/${p.projectId}/services$`), status: 503 });
    fake.injectFault({ path: /:batchEnable$/, status: 429 });
    fake.injectFault({
      method: "POST",
      path: new RegExp(`/projects/${p.projectId}/serviceAccounts$`),
      status: 403,
      message: "Permission 'iam.serviceAccounts.create' denied on resource",
      times: 3,
    });
    const applied = await p.run(true, new Map([["firestore-project-id", p.projectId]]));
    expect(applied.compliant).toBe(false);
    expect(p.delays).toEqual([1000, 1000]);
    expect(applied.steps.at(-1)).toEqual({
      step: "service_account",
      subject: p.email,
      status: "failed",
      detail: "PERMISSION_DENIED: Permission 'iam.serviceAccounts.create' denied on resource",
    });
  });
});

describe("secret values from stdin", () => {
  it("reads NAME=VALUE lines, skipping blanks and comments; a value keeps its own '='", () => {
    expect(
      parseSecretValues(
        "# prod\nfirestore-project-id=bas-prod\n\nauth-admin-password-hash=$argon2id$v=19$m=65536\n",
      ),
    ).toEqual(
      new Map([
        ["firestore-project-id", "bas-prod"],
        ["auth-admin-password-hash", "$argon2id$v=19$m=65536"],
      ]),
    );
  });

  it.each([
    ["firestore-project-id\n", "stdin line 1 must be NAME=VALUE"],
    ["db-password=x\n", "one of the environment's secrets"],
    [
      "firestore-project-id=bas-prod\nfirestore-project-id=bas-stg\n",
      "the only value for firestore-project-id",
    ],
  ])("refuses %j, naming the line", (text, message) => {
    expect(() => parseSecretValues(text)).toThrow(message);
  });

  it("refuses a malformed value without echoing it", () => {
    const error = (() => {
      try {
        parseSecretValues("firestore-project-id=Not A Project\n");
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toBe(
      "invalid configuration: stdin line 1 (firestore-project-id) must be a GCP project id",
    );
    expect(error!.message).not.toContain("Not A Project");
  });
});
