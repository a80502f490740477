import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GCP_APIS, type GcpApi, parseGcpAccess } from "../config/gcp.js";
import type { ControlPlane } from "./control-plane.js";
import { createGcloudControlPlane } from "./gcloud.js";
import { type ControlPlaneKind, createControlPlane } from "./select.js";
import { FakeControlPlane, gcloudEnv } from "./testing/fake-control-plane.js";

let fake: FakeControlPlane;
let scratch: string;
let tokenFile: string;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
  scratch = mkdtempSync(join(tmpdir(), "firebrick-select-"));
  tokenFile = join(scratch, "token");
  writeFileSync(tokenFile, fake.token);
  const project = fake.provisioned("select-project");
  for (const service of ["iam.googleapis.com", "secretmanager.googleapis.com"]) project.services.add(service);
});
afterAll(() => fake.stop());

/** One read per API, each through the control-plane interface. */
const READS: Record<GcpApi, (controlPlane: ControlPlane) => Promise<unknown>> = {
  firestore: (controlPlane) => controlPlane.getDatabase(),
  serviceusage: (controlPlane) => controlPlane.listEnabledServices(),
  iam: (controlPlane) => controlPlane.getServiceAccount("nobody@select-project.iam.gserviceaccount.com"),
  cloudresourcemanager: (controlPlane) => controlPlane.getIamPolicy({ type: "project" }),
  secretmanager: (controlPlane) => controlPlane.getSecret("firestore-project-id"),
};

/** Every API's override pointing nowhere (a closed port), but `api`'s, which points at the fake. */
function onlyOn(api: GcpApi): NodeJS.ProcessEnv {
  const env = gcloudEnv(fake, join(scratch, `config-${api}`), tokenFile);
  for (const other of GCP_APIS) {
    if (other !== api) env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${other.toUpperCase()}`] = "http://127.0.0.1:1/";
  }
  return env;
}

describe.each<ControlPlaneKind>(["rest", "gcloud"])("the %s control plane", (kind) => {
  it("sends each API's calls to that API's CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>, with the token file's token", {
    timeout: 120_000,
  }, async () => {
    for (const api of GCP_APIS) {
      const env = onlyOn(api);
      const before = fake.requests.length;
      const controlPlane =
        kind === "rest"
          ? createControlPlane(
              "rest",
              { projectId: "select-project", databaseId: "(default)" },
              parseGcpAccess(env),
            )
          : createGcloudControlPlane({
              projectId: "select-project",
              env: { ...process.env, ...env },
            });
      // A call to any other API would go to the closed port and fail.
      await READS[api](controlPlane!);
      expect(fake.requests.length, api).toBeGreaterThan(before);
    }
  });
});
