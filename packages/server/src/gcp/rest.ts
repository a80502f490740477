import { readFile } from "node:fs/promises";
import { GoogleAuth } from "google-auth-library";
import {
  type BackupSchedule,
  type ControlPlane,
  ControlPlaneError,
  type Database,
  type DatabaseProtection,
  DEFAULT_DATABASE,
  durationString,
  errorFromApiBody,
  type Field,
  type GcpApi,
  type IamPolicy,
  type IamResource,
  type Index,
  nullIfNotFound,
  type Operation,
  policyGrants,
  type Secret,
  type SecretVersion,
  type Service,
  type ServiceAccount,
  withBinding,
} from "./control-plane.js";

/** Returns a bearer token for the next request. */
export type AccessTokenSource = () => Promise<string>;

export interface RestControlPlaneOptions {
  projectId: string;
  /** The Firestore database the Firestore Admin calls act on; `(default)` unless named. */
  databaseId?: string;
  /** Base URLs with a trailing slash, per API (gcloud's endpoint overrides); the public endpoints otherwise. */
  endpoints?: Partial<Record<GcpApi, string>>;
  /** Application Default Credentials (cloud-platform scope) by default. */
  accessToken?: AccessTokenSource;
  /** The project's default region (for `database_location`), when one is configured. */
  region?: string;
}

const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
// Resource Manager tests at most 100 permissions per call.
const PERMISSIONS_PER_TEST = 100;

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

/** The public endpoint of an API. */
export function publicEndpoint(api: GcpApi): string {
  return `https://${api}.googleapis.com/`;
}

/**
 * One authorized JSON call to a Google REST API: a Google error body becomes a classified
 * `ControlPlaneError`; no answer at all is a transient `UNAVAILABLE`.
 */
export function restTransport(endpoints: Partial<Record<GcpApi, string>>, accessToken: AccessTokenSource) {
  return async function call<T>(api: GcpApi, method: string, path: string, body?: unknown): Promise<T> {
    const base = endpoints[api] ?? publicEndpoint(api);
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
      throw new ControlPlaneError(
        "UNAVAILABLE",
        `UNAVAILABLE: ${method} ${base} failed: ${String(error)}`,
        undefined,
        { cause: error, transient: true },
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
        `INTERNAL: ${method} ${path.split("?")[0]} answered with non-JSON`,
        response.status,
      );
    }
    return parsed as T;
  };
}

/**
 * The control plane over the REST APIs: Service Usage v1, Firestore Admin v1, IAM v1, Resource Manager v1
 * and Secret Manager v1.
 *
 * @example
 * const controlPlane = createRestControlPlane({ projectId: "my-project", databaseId: "prod" });
 * const database = await controlPlane.getDatabase();
 */
export function createRestControlPlane(options: RestControlPlaneOptions): ControlPlane {
  const { projectId } = options;
  const databaseId = options.databaseId ?? DEFAULT_DATABASE;
  const call = restTransport(options.endpoints ?? {}, options.accessToken ?? applicationDefaultCredentials());
  const project = `projects/${projectId}`;
  const database = `${project}/databases/${databaseId}`;
  const field = (collectionGroup: string, fieldPath: string) =>
    `${database}/collectionGroups/${collectionGroup}/fields/${fieldPath}`;
  const secret = (secretId: string) => `${project}/secrets/${encodeURIComponent(secretId)}`;
  /** Every page of a list call (`pageToken`/`nextPageToken`). */
  const allPages = async <T>(api: GcpApi, path: string, key: string): Promise<T[]> => {
    const items: T[] = [];
    let pageToken: string | undefined;
    do {
      const separator = path.includes("?") ? "&" : "?";
      const page = await call<Record<string, unknown> & { nextPageToken?: string }>(
        api,
        "GET",
        `${path}${pageToken ? `${separator}pageToken=${encodeURIComponent(pageToken)}` : ""}`,
      );
      items.push(...((page[key] as T[] | undefined) ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  };
  const setIamPolicy = (resource: IamResource, policy: IamPolicy) =>
    resource.type === "project"
      ? call<IamPolicy>("cloudresourcemanager", "POST", `${project}:setIamPolicy`, { policy })
      : call<IamPolicy>("secretmanager", "POST", `${secret(resource.secretId)}:setIamPolicy`, { policy });

  const controlPlane: ControlPlane = {
    kind: "rest",
    projectId,
    databaseId,

    async getService(service) {
      const found = await call<Service>("serviceusage", "GET", `${project}/services/${service}`);
      return { name: service, state: found.state };
    },
    async listEnabledServices() {
      const services = await allPages<{ config?: { name?: string } }>(
        "serviceusage",
        `${project}/services?filter=state:ENABLED&pageSize=200`,
        "services",
      );
      return services.flatMap((service) => (service.config?.name ? [service.config.name] : []));
    },
    enableServices(services) {
      return call("serviceusage", "POST", `${project}/services:batchEnable`, { serviceIds: services });
    },

    getDatabase() {
      return nullIfNotFound(() => call<Database>("firestore", "GET", database));
    },
    createDatabase(locationId, protection = {}) {
      return call("firestore", "POST", `${project}/databases?databaseId=${encodeURIComponent(databaseId)}`, {
        locationId,
        type: "FIRESTORE_NATIVE",
        ...protectionFields(protection),
      });
    },
    updateDatabase(protection) {
      const fields = protectionFields(protection);
      return call("firestore", "PATCH", `${database}?updateMask=${Object.keys(fields).join(",")}`, {
        name: database,
        ...fields,
      });
    },
    getOperation(name) {
      return call<Operation>(name.startsWith("operations/") ? "serviceusage" : "firestore", "GET", name);
    },
    listBackupSchedules() {
      return allPages<BackupSchedule>("firestore", `${database}/backupSchedules`, "backupSchedules");
    },
    createBackupSchedule(spec) {
      return call<BackupSchedule>("firestore", "POST", `${database}/backupSchedules`, {
        retention: durationString(spec.retentionSeconds),
        ...(spec.recurrence === "daily" ? { dailyRecurrence: {} } : { weeklyRecurrence: { day: spec.day } }),
      });
    },
    updateBackupSchedule(name, retentionSeconds) {
      return call<BackupSchedule>("firestore", "PATCH", `${name}?updateMask=retention`, {
        retention: durationString(retentionSeconds),
      });
    },
    async deleteBackupSchedule(name) {
      await call("firestore", "DELETE", name);
    },

    listIndexes() {
      return allPages<Index>("firestore", `${database}/collectionGroups/-/indexes`, "indexes");
    },
    createIndex(collectionGroup, index) {
      return call("firestore", "POST", `${database}/collectionGroups/${collectionGroup}/indexes`, index);
    },
    async deleteIndex(name) {
      await call("firestore", "DELETE", name);
    },
    getField(collectionGroup, fieldPath) {
      return call<Field>("firestore", "GET", field(collectionGroup, fieldPath));
    },
    async listFieldOverrides() {
      const filter = encodeURIComponent("indexConfig.usesAncestorConfig=false OR ttlConfig:*");
      const fields = await allPages<Field>(
        "firestore",
        `${database}/collectionGroups/-/fields?filter=${filter}`,
        "fields",
      );
      // The listing always carries the database-wide default; it is nobody's override.
      return fields.filter((entry) => !entry.name.includes("/collectionGroups/__default__/"));
    },
    setFieldIndexes(collectionGroup, fieldPath, indexes) {
      const name = field(collectionGroup, fieldPath);
      const indexConfig =
        indexes.length === 0
          ? {}
          : {
              indexes: indexes.map(({ queryScope, ...kind }) => ({
                queryScope,
                fields: [{ fieldPath, ...kind }],
              })),
            };
      return call("firestore", "PATCH", `${name}?updateMask=indexConfig`, { name, indexConfig });
    },
    revertFieldIndexes(collectionGroup, fieldPath) {
      // indexConfig in the mask but absent from the body: "revert to the ancestor's configuration".
      const name = field(collectionGroup, fieldPath);
      return call("firestore", "PATCH", `${name}?updateMask=indexConfig`, { name });
    },
    enableTtl(collectionGroup, fieldPath) {
      const name = field(collectionGroup, fieldPath);
      return call("firestore", "PATCH", `${name}?updateMask=ttlConfig`, { name, ttlConfig: {} });
    },
    disableTtl(collectionGroup, fieldPath) {
      const name = field(collectionGroup, fieldPath);
      return call("firestore", "PATCH", `${name}?updateMask=ttlConfig`, { name });
    },

    getServiceAccount(email) {
      return nullIfNotFound(() =>
        call<ServiceAccount>("iam", "GET", `projects/-/serviceAccounts/${encodeURIComponent(email)}`),
      );
    },
    createServiceAccount(accountId, displayName) {
      return call<ServiceAccount>("iam", "POST", `${project}/serviceAccounts`, {
        accountId,
        serviceAccount: { displayName },
      });
    },
    getIamPolicy(resource) {
      return resource.type === "project"
        ? call<IamPolicy>("cloudresourcemanager", "POST", `${project}:getIamPolicy`, {
            options: { requestedPolicyVersion: 3 },
          })
        : call<IamPolicy>(
            "secretmanager",
            "GET",
            `${secret(resource.secretId)}:getIamPolicy?options.requestedPolicyVersion=3`,
          );
    },
    async addIamBinding(resource, role, member) {
      // One read-modify-write guarded by the etag: a concurrent change is a 409 ABORTED, which is
      // transient, so the caller's retry re-reads and tries again.
      const policy = await controlPlane.getIamPolicy(resource);
      if (policyGrants(policy, role, member)) return policy;
      return setIamPolicy(resource, withBinding(policy, role, member));
    },
    async testIamPermissions(permissions) {
      const granted: string[] = [];
      for (let i = 0; i < permissions.length; i += PERMISSIONS_PER_TEST) {
        const answer = await call<{ permissions?: string[] }>(
          "cloudresourcemanager",
          "POST",
          `${project}:testIamPermissions`,
          { permissions: permissions.slice(i, i + PERMISSIONS_PER_TEST) },
        );
        granted.push(...(answer.permissions ?? []));
      }
      return granted;
    },
    async callerMember() {
      return undefined;
    },

    getSecret(secretId) {
      return nullIfNotFound(() => call<Secret>("secretmanager", "GET", secret(secretId)));
    },
    createSecret(secretId) {
      return call<Secret>(
        "secretmanager",
        "POST",
        `${project}/secrets?secretId=${encodeURIComponent(secretId)}`,
        { replication: { automatic: {} } },
      );
    },
    listSecretVersions(secretId) {
      return allPages<SecretVersion>("secretmanager", `${secret(secretId)}/versions`, "versions");
    },
    addSecretVersion(secretId, data) {
      return call<SecretVersion>("secretmanager", "POST", `${secret(secretId)}:addVersion`, {
        payload: { data: data.toString("base64") },
      });
    },
    async accessSecretVersion(secretId, version = "latest") {
      const answer = await call<{ payload?: { data?: string } }>(
        "secretmanager",
        "GET",
        `${secret(secretId)}/versions/${encodeURIComponent(version)}:access`,
      );
      return Buffer.from(answer.payload?.data ?? "", "base64");
    },

    async defaultRegion() {
      return options.region;
    },
  };
  return controlPlane;
}

/** The Database fields for the protection settings that are set (left out: unchanged / the default). */
export function protectionFields(protection: DatabaseProtection): Partial<Database> {
  return {
    ...(protection.pointInTimeRecovery !== undefined && {
      pointInTimeRecoveryEnablement: protection.pointInTimeRecovery
        ? "POINT_IN_TIME_RECOVERY_ENABLED"
        : "POINT_IN_TIME_RECOVERY_DISABLED",
    }),
    ...(protection.deleteProtection !== undefined && {
      deleteProtectionState: protection.deleteProtection
        ? "DELETE_PROTECTION_ENABLED"
        : "DELETE_PROTECTION_DISABLED",
    }),
  };
}
