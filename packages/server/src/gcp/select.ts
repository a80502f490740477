import { Firestore } from "@google-cloud/firestore";
import { GoogleAuth, OAuth2Client } from "google-auth-library";
import { ConfigError } from "../config/env.js";
import type { ControlPlane } from "./control-plane.js";
import { createGcloudControlPlane } from "./gcloud.js";
import { accessTokenFromFile, createRestControlPlane } from "./rest.js";

export const CONTROL_PLANE_KINDS = ["gcloud", "rest", "none"] as const;
export type ControlPlaneKind = (typeof CONTROL_PLANE_KINDS)[number];

/** `gcloud`, as the seed does; `none` under the emulator, which has no control plane (SPEC.md §3). */
export function defaultControlPlaneKind(env: NodeJS.ProcessEnv = process.env): ControlPlaneKind {
  return env.FIRESTORE_EMULATOR_HOST ? "none" : "gcloud";
}

/**
 * The control plane of the given kind. The REST one honours gcloud's own endpoint and token overrides
 * (`CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE`, `…_SERVICEUSAGE`, `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`), so
 * that one set of variables points either implementation at the same place; otherwise it uses ADC.
 */
export function createControlPlane(
  kind: ControlPlaneKind,
  projectId: string,
  env: NodeJS.ProcessEnv = process.env,
): ControlPlane | null {
  if (kind === "none") return null;
  if (kind === "gcloud") return createGcloudControlPlane({ projectId, env });
  return createRestControlPlane({
    projectId,
    env,
    ...(env.CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE && {
      firestoreEndpoint: env.CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE,
    }),
    ...(env.CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE && {
      serviceUsageEndpoint: env.CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE,
    }),
    ...(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE && {
      accessToken: accessTokenFromFile(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE),
    }),
  });
}

/**
 * The Firestore client for the bootstrap document. Under the emulator the SDK finds it by itself; with
 * the gcloud control plane the SDK is authorized with `gcloud auth print-access-token`, as the seed
 * does; otherwise Application Default Credentials.
 */
export async function firestoreFor(
  controlPlane: ControlPlane | null,
  projectId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Firestore> {
  if (env.FIRESTORE_EMULATOR_HOST || !controlPlane || controlPlane.kind !== "gcloud")
    return new Firestore({ projectId });
  const token = await (controlPlane as ReturnType<typeof createGcloudControlPlane>).accessToken();
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token });
  return new Firestore({ projectId, auth: new GoogleAuth({ authClient }) });
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The project from `--project`, else `GOOGLE_CLOUD_PROJECT`/`GCP_PROJECT_ID` (validated by `loadConfig`). */
export function resolveProjectId(flag: string | undefined, envProjectId: string | undefined): string {
  if (flag !== undefined) {
    if (!PROJECT_ID.test(flag)) {
      throw new ConfigError(
        "--project",
        "a GCP project id (6–30 lower-case letters, digits or hyphens)",
        flag,
      );
    }
    return flag;
  }
  if (!envProjectId) throw new ConfigError("--project", "given (or GOOGLE_CLOUD_PROJECT set)");
  return envProjectId;
}
