import { Firestore } from "@google-cloud/firestore";
import { GoogleAuth, OAuth2Client } from "google-auth-library";
import type { GcpAccess } from "../config/gcp.js";
import { createFirestoreClient } from "../runtime/open-stores.js";
import type { ControlPlane } from "./control-plane.js";
import { createGcloudControlPlane } from "./gcloud.js";
import { accessTokenFromFile, createRestControlPlane } from "./rest.js";

export const CONTROL_PLANE_KINDS = ["gcloud", "rest", "none"] as const;
export type ControlPlaneKind = (typeof CONTROL_PLANE_KINDS)[number];

/** The project and Firestore database a control plane acts on. */
export interface ControlPlaneTarget {
  projectId: string;
  databaseId: string;
}

/** `gcloud`, as the seed does; `none` under the emulator, which has no control plane (docs/design/configuration.md). */
export function defaultControlPlaneKind(underEmulator: boolean): ControlPlaneKind {
  return underEmulator ? "none" : "gcloud";
}

/**
 * The control plane of the given kind. gcloud reads its own endpoint and token overrides from the
 * environment it inherits; the REST one takes the same overrides (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`,
 * `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`), parsed at the edge into `access`, so that one set of variables
 * points either implementation at the same place; without a token file it uses ADC.
 */
export function createControlPlane(
  kind: ControlPlaneKind,
  target: ControlPlaneTarget,
  access: GcpAccess,
): ControlPlane | null {
  if (kind === "none") return null;
  if (kind === "gcloud") return createGcloudControlPlane(target);
  return createRestControlPlane({
    ...target,
    endpoints: access.endpoints,
    ...(access.accessTokenFile && { accessToken: accessTokenFromFile(access.accessTokenFile) }),
    ...(access.region && { region: access.region }),
  });
}

/**
 * The Firestore client for the bootstrap document, on the target database. Under the emulator (`host:port`)
 * it goes there; with the gcloud control plane the SDK is authorized with `gcloud auth print-access-token`,
 * as the seed does; otherwise Application Default Credentials.
 */
export async function firestoreFor(
  controlPlane: ControlPlane | null,
  target: ControlPlaneTarget,
  emulatorHost: string | undefined,
): Promise<Firestore> {
  const { projectId, databaseId } = target;
  // The service's own emulator client: it needs no credentials, so it never probes the metadata server
  // (which printed a MetadataLookupWarning on every bootstrap under the emulator).
  if (emulatorHost)
    return createFirestoreClient({ kind: "emulator", host: emulatorHost, projectId, databaseId });
  if (controlPlane?.kind !== "gcloud") return new Firestore({ projectId, databaseId });
  const token = await (controlPlane as ReturnType<typeof createGcloudControlPlane>).accessToken();
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token });
  return new Firestore({ projectId, databaseId, auth: new GoogleAuth({ authClient }) });
}
