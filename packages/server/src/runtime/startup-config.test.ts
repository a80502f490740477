import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../config/config-error.js";
import {
  endpointOverrides,
  FakeControlPlane,
  restControlPlaneOn,
} from "../gcp/testing/fake-control-plane.js";
import { loadStartupConfig, SecretUnavailableError } from "./startup-config.js";

let fake: FakeControlPlane;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
  const tokenFile = join(mkdtempSync(join(tmpdir(), "firebrick-secrets-")), "token");
  writeFileSync(tokenFile, fake.token);
  env = { ...endpointOverrides(fake), CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile };
  const ops = fake.project("bas-ops");
  ops.services.add("secretmanager.googleapis.com");
  const controlPlane = restControlPlaneOn(fake, "bas-ops");
  await controlPlane.createSecret("firestore-project-id");
  await controlPlane.addSecretVersion("firestore-project-id", Buffer.from("bas-prod-1\n"));
  await controlPlane.createSecret("bad-project-id");
  await controlPlane.addSecretVersion("bad-project-id", Buffer.from("Hunter2!"));
});
afterAll(() => fake.stop());

describe("loadStartupConfig", () => {
  it("reads the project id from Secret Manager once, over REST with gcloud's overrides, before the configuration is final", async () => {
    const before = fake.requests.length;
    const config = await loadStartupConfig({
      ...env,
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/firestore-project-id",
    });
    expect(config.firestore.projectId).toBe("bas-prod-1");
    expect(fake.requests.slice(before).map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /v1/projects/bas-ops/secrets/firestore-project-id/versions/latest:access",
    ]);
  });

  it("without FIREBRICK_SECRETS reads nothing", async () => {
    const before = fake.requests.length;
    expect(
      (await loadStartupConfig({ ...env, GOOGLE_CLOUD_PROJECT: "bas-prod-1" })).firestore.projectId,
    ).toBe("bas-prod-1");
    expect(fake.requests.length).toBe(before);
  });

  it("a secret that cannot be read stops the start with its name and the API's reason", async () => {
    const error = await loadStartupConfig({
      ...env,
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/no-such-secret",
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toMatch(
      /^reading GOOGLE_CLOUD_PROJECT from projects\/bas-ops\/secrets\/no-such-secret\/versions\/latest \(FIREBRICK_SECRETS\) failed: NOT_FOUND: /,
    );
  });

  it("a bad value from a secret is a configuration error that does not show the value", async () => {
    const error = await loadStartupConfig({
      ...env,
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/bad-project-id",
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain("Hunter2");
  });

  it("retries a transient Secret Manager failure", async () => {
    fake.injectFault({ path: /firestore-project-id\/versions\/latest:access$/, status: 503 });
    const config = await loadStartupConfig({
      ...env,
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/firestore-project-id",
    });
    expect(config.firestore.projectId).toBe("bas-prod-1");
  }, 10_000);
});
