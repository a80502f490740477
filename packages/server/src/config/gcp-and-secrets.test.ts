import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./env.js";
import { databaseIdFrom, parseGcpAccess, projectIdFrom } from "./gcp.js";
import { resolveSecrets, withoutSecretValue } from "./secrets.js";

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("FIRESTORE_DATABASE_ID", () => {
  it("names the service's database: (default) unless set", () => {
    const project = { GOOGLE_CLOUD_PROJECT: "bas-prod-1" };
    expect(loadConfig(project).firestore.databaseId).toBe("(default)");
    expect(loadConfig({ ...project, FIRESTORE_DATABASE_ID: "bas-prod" }).firestore.databaseId).toBe(
      "bas-prod",
    );
    // Without a Firestore there is no database to name.
    expect(loadConfig({ FIRESTORE_DATABASE_ID: "bas-prod" }).firestore.databaseId).toBeUndefined();
  });

  it.each(["Prod", "ab", "1prod", "prod-", "af0e6b24-7c3a-4d4e-9a1b-2c3d4e5f6a7b"])(
    "refuses %j with Firestore's rule",
    (value) => {
      expect(errorOf(() => loadConfig({ FIRESTORE_DATABASE_ID: value })).key).toBe("FIRESTORE_DATABASE_ID");
    },
  );

  it("--database is validated at the edge too", () => {
    expect(databaseIdFrom(undefined, "bas-prod")).toBe("bas-prod");
    expect(databaseIdFrom("bas-stg", "bas-prod")).toBe("bas-stg");
    expect(errorOf(() => databaseIdFrom("BAD", "(default)")).key).toBe("--database");
  });

  it("--project is validated at the edge; without it the configured project is used", () => {
    expect(projectIdFrom(undefined, "bas-prod")).toBe("bas-prod");
    expect(errorOf(() => projectIdFrom("Bad_Project", "bas-prod")).key).toBe("--project");
    expect(errorOf(() => projectIdFrom(undefined, undefined)).message).toContain("--project");
  });
});

describe("gcloud's overrides, parsed once", () => {
  it("reads every API's endpoint override (with the trailing slash gcloud wants), the token file and the region", () => {
    expect(
      parseGcpAccess({
        CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE: "http://127.0.0.1:9000",
        CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER: "https://sm.example.test/",
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: "/run/token",
        CLOUDSDK_COMPUTE_REGION: "europe-west3",
      }),
    ).toEqual({
      endpoints: { firestore: "http://127.0.0.1:9000/", secretmanager: "https://sm.example.test/" },
      accessTokenFile: "/run/token",
      region: "europe-west3",
    });
  });

  it("refuses an endpoint that is not an http(s) URL", () => {
    expect(errorOf(() => parseGcpAccess({ CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM: "ftp://x/" })).key).toBe(
      "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM",
    );
  });
});

describe("FIREBRICK_SECRETS", () => {
  it("parses KEY=projects/P/secrets/S[/versions/V], latest by default", () => {
    expect(
      loadConfig({
        FIREBRICK_SECRETS:
          "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/firestore-project-id, TENANT_ID_HEADER=projects/bas-ops/secrets/tenant-header/versions/3",
      }).secrets,
    ).toEqual([
      {
        key: "GOOGLE_CLOUD_PROJECT",
        projectId: "bas-ops",
        secretId: "firestore-project-id",
        version: "latest",
      },
      { key: "TENANT_ID_HEADER", projectId: "bas-ops", secretId: "tenant-header", version: "3" },
    ]);
  });

  it.each([
    ["GOOGLE_CLOUD_PROJECT=firestore-project-id", "FIREBRICK_SECRETS"],
    [
      "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/a,GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/b",
      "FIREBRICK_SECRETS",
    ],
    ["NOT_A_KEY=projects/bas-ops/secrets/a", "FIREBRICK_SECRETS"],
    ["FIREBRICK_SECRETS=projects/bas-ops/secrets/a", "FIREBRICK_SECRETS"],
  ])("refuses %j", (value, key) => {
    expect(errorOf(() => loadConfig({ FIREBRICK_SECRETS: value })).key).toBe(key);
  });

  it("fills the keys from the secrets, refusing a key also set directly", async () => {
    const references = loadConfig({
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/firestore-project-id",
    }).secrets;
    const read = async () => " bas-prod\n";
    expect((await resolveSecrets({ A: "1" }, references, read)).GOOGLE_CLOUD_PROJECT).toBe("bas-prod");
    await expect(resolveSecrets({ GOOGLE_CLOUD_PROJECT: "x-project" }, references, read)).rejects.toThrow(
      "GOOGLE_CLOUD_PROJECT must be set in the environment or through FIREBRICK_SECRETS, not both",
    );
  });

  it("an invalid value from a secret is reported without the value", () => {
    const references = loadConfig({
      FIREBRICK_SECRETS: "GOOGLE_CLOUD_PROJECT=projects/bas-ops/secrets/firestore-project-id",
    }).secrets;
    const error = withoutSecretValue(
      errorOf(() => loadConfig({ GOOGLE_CLOUD_PROJECT: "Hunter2!" })),
      references,
    ) as ConfigError;
    expect(error.message).toBe(
      "invalid configuration: GOOGLE_CLOUD_PROJECT must be a GCP project id (6–30 lower-case letters, digits or hyphens) (the value of projects/bas-ops/secrets/firestore-project-id/versions/latest)",
    );
    expect(error.message).not.toContain("Hunter2");
  });
});
