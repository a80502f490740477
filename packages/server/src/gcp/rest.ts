import { readFile } from "node:fs/promises";
import { GoogleAuth } from "google-auth-library";
import {
  type ControlPlane,
  ControlPlaneError,
  type Database,
  DEFAULT_DATABASE,
  errorFromApiBody,
  type Field,
  type Index,
  type Operation,
  type Service,
} from "./control-plane.js";

/** Returns a bearer token for the next request. */
export type AccessTokenSource = () => Promise<string>;

export interface RestControlPlaneOptions {
  projectId: string;
  /** Base URLs with a trailing slash; the public endpoints by default. */
  firestoreEndpoint?: string;
  serviceUsageEndpoint?: string;
  /** Application Default Credentials (cloud-platform scope) by default. */
  accessToken?: AccessTokenSource;
  /** Where `defaultRegion()` looks: `GOOGLE_CLOUD_REGION`, then `CLOUDSDK_COMPUTE_REGION`. */
  env?: NodeJS.ProcessEnv;
}

const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

/** Tokens from Application Default Credentials, through google-auth-library. */
export function applicationDefaultCredentials(): AccessTokenSource {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return async () => {
    const token = await auth.getAccessToken();
    if (!token)
      throw new ControlPlaneError("UNAUTHENTICATED", "Application Default Credentials gave no token.");
    return token;
  };
}

/** A token read from a file on every call, as gcloud's `auth/access_token_file` property does. */
export function accessTokenFromFile(path: string): AccessTokenSource {
  return async () => (await readFile(path, "utf8")).trim();
}

/**
 * The control plane over the Service Usage v1 and Firestore Admin v1 REST APIs.
 *
 * @example
 * const controlPlane = createRestControlPlane({ projectId: "my-project" });
 * const database = await controlPlane.getDatabase();
 */
export function createRestControlPlane(options: RestControlPlaneOptions): ControlPlane {
  const { projectId } = options;
  const firestore = options.firestoreEndpoint ?? "https://firestore.googleapis.com/";
  const serviceUsage = options.serviceUsageEndpoint ?? "https://serviceusage.googleapis.com/";
  const accessToken = options.accessToken ?? applicationDefaultCredentials();
  const env = options.env ?? process.env;
  const database = `projects/${projectId}/databases/${DEFAULT_DATABASE}`;

  async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
    const token = await accessToken();
    let response: Response;
    try {
      response = await fetch(new URL(`v1/${path}`, base), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { "content-type": "application/json" }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      // No answer at all (refused, reset, timed out): the network's fault, worth a retry.
      throw new ControlPlaneError(
        "UNAVAILABLE",
        `UNAVAILABLE: ${method} ${base} failed: ${String(error)}`,
        undefined,
        {
          cause: error,
          transient: true,
        },
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw errorFromApiBody(response.status, parsed);
    if (parsed === undefined) {
      throw new ControlPlaneError(
        "INTERNAL",
        `INTERNAL: ${method} ${path} answered with non-JSON`,
        response.status,
      );
    }
    return parsed as T;
  }

  return {
    kind: "rest",
    projectId,
    async getService(service) {
      const found = await call<Service>(serviceUsage, "GET", `projects/${projectId}/services/${service}`);
      return { name: service, state: found.state };
    },
    enableService(service) {
      return call(serviceUsage, "POST", `projects/${projectId}/services/${service}:enable`, {});
    },
    async getDatabase() {
      try {
        return await call<Database>(firestore, "GET", database);
      } catch (error) {
        if (error instanceof ControlPlaneError && error.status === "NOT_FOUND") return null;
        throw error;
      }
    },
    createDatabase(locationId) {
      return call(
        firestore,
        "POST",
        `projects/${projectId}/databases?databaseId=${encodeURIComponent(DEFAULT_DATABASE)}`,
        { locationId, type: "FIRESTORE_NATIVE" },
      );
    },
    getOperation(name) {
      return call<Operation>(name.startsWith("operations/") ? serviceUsage : firestore, "GET", name);
    },
    async listIndexes() {
      const indexes: Index[] = [];
      let pageToken: string | undefined;
      do {
        const page = await call<{ indexes?: Index[]; nextPageToken?: string }>(
          firestore,
          "GET",
          `${database}/collectionGroups/-/indexes${pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : ""}`,
        );
        indexes.push(...(page.indexes ?? []));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return indexes;
    },
    createIndex(collectionGroup, index) {
      return call(firestore, "POST", `${database}/collectionGroups/${collectionGroup}/indexes`, index);
    },
    getField(collectionGroup, fieldPath) {
      return call<Field>(
        firestore,
        "GET",
        `${database}/collectionGroups/${collectionGroup}/fields/${fieldPath}`,
      );
    },
    setFieldIndexes(collectionGroup, fieldPath, indexes) {
      const name = `${database}/collectionGroups/${collectionGroup}/fields/${fieldPath}`;
      const indexConfig =
        indexes.length === 0
          ? {}
          : {
              indexes: indexes.map(({ queryScope, ...kind }) => ({
                queryScope,
                fields: [{ fieldPath, ...kind }],
              })),
            };
      return call(firestore, "PATCH", `${name}?updateMask=indexConfig`, { name, indexConfig });
    },
    enableTtl(collectionGroup, fieldPath) {
      const name = `${database}/collectionGroups/${collectionGroup}/fields/${fieldPath}`;
      return call(firestore, "PATCH", `${name}?updateMask=ttlConfig`, { name, ttlConfig: {} });
    },
    async defaultRegion() {
      return env.GOOGLE_CLOUD_REGION || env.CLOUDSDK_COMPUTE_REGION || undefined;
    },
  };
}
