import { execFile } from "node:child_process";
import {
  type BackupSchedule,
  type ControlPlane,
  ControlPlaneError,
  type Database,
  DEFAULT_DATABASE,
  errorFromApiBody,
  type Field,
  type IamPolicy,
  type Index,
  nullIfNotFound,
  type Operation,
  type Secret,
  type SecretVersion,
  type ServiceAccount,
} from "./control-plane.js";
import { createRestControlPlane } from "./rest.js";

export interface GcloudControlPlaneOptions {
  projectId: string;
  /** The Firestore database the Firestore Admin commands act on; `(default)` unless named. */
  databaseId?: string;
  /** The `gcloud` executable; `gcloud` on the PATH by default. */
  gcloud?: string;
  /** The environment gcloud runs in (endpoint overrides, `CLOUDSDK_CONFIG`…); inherited by default. */
  env?: NodeJS.ProcessEnv;
}

/** Runs one gcloud command (with `stdin` when given); resolves with its stdout, rejects with a classified `ControlPlaneError`. */
export type GcloudRunner = (args: string[], stdin?: Buffer) => Promise<string>;

const DAY_FLAGS = {
  MONDAY: "MON",
  TUESDAY: "TUE",
  WEDNESDAY: "WED",
  THURSDAY: "THU",
  FRIDAY: "FRI",
  SATURDAY: "SAT",
  SUNDAY: "SUN",
};

/**
 * The control plane through the `gcloud` CLI, as the seed does: every call is a `gcloud … --format=json`
 * command, and a failed command becomes a `ControlPlaneError` classified from gcloud's error line
 * (gcloud prints the API's canonical status, or the raw HTTP error body when it gave up retrying).
 *
 * One call has no gcloud command: Resource Manager's `testIamPermissions`. It goes over REST, authorized
 * with gcloud's own token (`gcloud auth print-access-token`, as the seed authorizes the Firestore SDK) and
 * sent to gcloud's own endpoint for the API (its `api_endpoint_overrides/cloudresourcemanager` property,
 * which `CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER` sets).
 *
 * @example
 * const controlPlane = createGcloudControlPlane({ projectId: "my-project" });
 */
export function createGcloudControlPlane(options: GcloudControlPlaneOptions): ControlPlane & {
  accessToken(): Promise<string>;
} {
  const { projectId } = options;
  const databaseId = options.databaseId ?? DEFAULT_DATABASE;
  const run = gcloudRunner(options);
  const json = async <T>(args: string[], stdin?: Buffer): Promise<T> => {
    const stdout = await run([...args, `--project=${projectId}`, "--format=json"], stdin);
    try {
      return JSON.parse(stdout || "null") as T;
    } catch (error) {
      throw new ControlPlaneError(
        "INTERNAL",
        `INTERNAL: gcloud ${args.slice(0, 3).join(" ")} printed non-JSON`,
        undefined,
        { cause: error },
      );
    }
  };
  const property = async (name: string): Promise<string | undefined> => {
    const value = (await run(["config", "get-value", name])).trim();
    return value && value !== "(unset)" ? value : undefined;
  };
  const database = `--database=${databaseId}`;
  const fieldArgs = (collectionGroup: string) => [`--collection-group=${collectionGroup}`, database];
  /** `gcloud firestore indexes fields update` or `… fields ttls update`, returning its operation. */
  const updateField = (
    group: "indexes fields" | "fields ttls",
    collectionGroup: string,
    fieldPath: string,
    flags: string[],
  ) =>
    json<Operation>([
      "firestore",
      ...group.split(" "),
      "update",
      fieldPath,
      ...fieldArgs(collectionGroup),
      ...flags,
      "--async",
    ]);
  const lastSegment = (name: string) => name.split("/").at(-1)!;
  const accessToken = async () => (await run(["auth", "print-access-token"])).trim();
  const listEnabledServices = async () => {
    const enabled = await json<{ config?: { name?: string } }[] | null>(["services", "list", "--enabled"]);
    return (enabled ?? []).flatMap((entry) => (entry.config?.name ? [entry.config.name] : []));
  };

  return {
    kind: "gcloud",
    projectId,
    databaseId,

    async getService(service) {
      const enabled = await listEnabledServices();
      return { name: service, state: enabled.includes(service) ? "ENABLED" : "DISABLED" };
    },
    listEnabledServices,
    async enableServices(services) {
      // `gcloud services enable` waits for its operation and prints nothing useful; it is done when it returns.
      await json(["services", "enable", ...services]);
      return { name: `operations/gcloud-services-enable-${services.join(",")}`, done: true };
    },

    getDatabase() {
      return nullIfNotFound(() => json<Database>(["firestore", "databases", "describe", database]));
    },
    createDatabase(locationId, protection = {}) {
      // Returns the long-running operation without waiting for it.
      return json<Operation>([
        "firestore",
        "databases",
        "create",
        database,
        `--location=${locationId}`,
        "--type=firestore-native",
        ...(protection.pointInTimeRecovery ? ["--enable-pitr"] : []),
        ...(protection.deleteProtection ? ["--delete-protection"] : []),
      ]);
    },
    updateDatabase(protection) {
      const flag = (enabled: boolean | undefined, name: string) =>
        enabled === undefined ? [] : [enabled ? `--${name}` : `--no-${name}`];
      return json<Operation>([
        "firestore",
        "databases",
        "update",
        database,
        ...flag(protection.pointInTimeRecovery, "enable-pitr"),
        ...flag(protection.deleteProtection, "delete-protection"),
        "--async",
      ]);
    },
    getOperation(name) {
      if (name.startsWith("operations/gcloud-services-enable-")) return Promise.resolve({ name, done: true });
      return json<Operation>(
        name.startsWith("operations/")
          ? ["services", "operations", "describe", name]
          : ["firestore", "operations", "describe", name, database],
      );
    },
    async listBackupSchedules() {
      return (
        (await json<BackupSchedule[] | null>(["firestore", "backups", "schedules", "list", database])) ?? []
      );
    },
    createBackupSchedule(spec) {
      return json<BackupSchedule>([
        "firestore",
        "backups",
        "schedules",
        "create",
        database,
        `--recurrence=${spec.recurrence}`,
        ...(spec.recurrence === "weekly" && spec.day ? [`--day-of-week=${DAY_FLAGS[spec.day]}`] : []),
        `--retention=${spec.retentionSeconds}s`,
      ]);
    },
    updateBackupSchedule(name, retentionSeconds) {
      return json<BackupSchedule>([
        "firestore",
        "backups",
        "schedules",
        "update",
        database,
        `--backup-schedule=${lastSegment(name)}`,
        `--retention=${retentionSeconds}s`,
      ]);
    },
    async deleteBackupSchedule(name) {
      await json([
        "firestore",
        "backups",
        "schedules",
        "delete",
        database,
        `--backup-schedule=${lastSegment(name)}`,
      ]);
    },

    async listIndexes() {
      return (await json<Index[] | null>(["firestore", "indexes", "composite", "list", database])) ?? [];
    },
    async createIndex(collectionGroup, index) {
      // With --async gcloud prints the operation's metadata, not the operation.
      const metadata = await json<Record<string, unknown>>([
        "firestore",
        "indexes",
        "composite",
        "create",
        ...fieldArgs(collectionGroup),
        `--query-scope=${index.queryScope === "COLLECTION_GROUP" ? "collection-group" : "collection"}`,
        ...index.fields.map((field) =>
          field.arrayConfig
            ? `--field-config=field-path=${field.fieldPath},array-config=contains`
            : `--field-config=field-path=${field.fieldPath},order=${(field.order ?? "ASCENDING").toLowerCase()}`,
        ),
        "--async",
      ]);
      return { name: "", done: false, metadata: metadata ?? {} };
    },
    async deleteIndex(name) {
      await json(["firestore", "indexes", "composite", "delete", lastSegment(name), database]);
    },
    getField(collectionGroup, fieldPath) {
      return json<Field>([
        "firestore",
        "indexes",
        "fields",
        "describe",
        fieldPath,
        ...fieldArgs(collectionGroup),
      ]);
    },
    async listFieldOverrides() {
      // Two listings: gcloud's index-override one and its TTL one; a field may be in both.
      const overrides =
        (await json<Field[] | null>(["firestore", "indexes", "fields", "list", database])) ?? [];
      const ttls = (await json<Field[] | null>(["firestore", "fields", "ttls", "list", database])) ?? [];
      const byName = new Map<string, Field>();
      for (const field of [...overrides, ...ttls])
        byName.set(field.name, { ...byName.get(field.name), ...field });
      return [...byName.values()].filter((field) => !field.name.includes("/collectionGroups/__default__/"));
    },
    async setFieldIndexes(collectionGroup, fieldPath, indexes) {
      // gcloud sets collection-scoped single-field indexes only (its --index takes order/array-config).
      if (indexes.some((index) => index.queryScope !== "COLLECTION")) {
        throw new ControlPlaneError(
          "INVALID_ARGUMENT",
          `INVALID_ARGUMENT: gcloud cannot set collection-group single-field indexes (${collectionGroup}.${fieldPath}); use the REST control plane`,
          undefined,
          { transient: false },
        );
      }
      const kinds = indexes.map((index) =>
        index.arrayConfig ? "array-config=contains" : `order=${(index.order ?? "ASCENDING").toLowerCase()}`,
      );
      return updateField(
        "indexes fields",
        collectionGroup,
        fieldPath,
        kinds.length === 0 ? ["--disable-indexes"] : kinds.map((kind) => `--index=${kind}`),
      );
    },
    revertFieldIndexes(collectionGroup, fieldPath) {
      return updateField("indexes fields", collectionGroup, fieldPath, ["--clear-exemption"]);
    },
    enableTtl(collectionGroup, fieldPath) {
      return updateField("fields ttls", collectionGroup, fieldPath, ["--enable-ttl"]);
    },
    disableTtl(collectionGroup, fieldPath) {
      return updateField("fields ttls", collectionGroup, fieldPath, ["--disable-ttl"]);
    },

    getServiceAccount(email) {
      return nullIfNotFound(() => json<ServiceAccount>(["iam", "service-accounts", "describe", email]));
    },
    createServiceAccount(accountId, displayName) {
      return json<ServiceAccount>([
        "iam",
        "service-accounts",
        "create",
        accountId,
        `--display-name=${displayName}`,
      ]);
    },
    getIamPolicy(resource) {
      return json<IamPolicy>(
        resource.type === "project"
          ? ["projects", "get-iam-policy", projectId]
          : ["secrets", "get-iam-policy", resource.secretId],
      );
    },
    addIamBinding(resource, role, member) {
      // gcloud does the read-modify-write itself, etag and retry on a concurrent change included.
      const target = resource.type === "project" ? ["projects", projectId] : ["secrets", resource.secretId];
      return json<IamPolicy>([
        target[0]!,
        "add-iam-policy-binding",
        target[1]!,
        `--member=${member}`,
        `--role=${role}`,
        "--condition=None",
      ]);
    },
    async testIamPermissions(permissions) {
      const endpoint = await property("api_endpoint_overrides/cloudresourcemanager");
      return createRestControlPlane({
        projectId,
        ...(endpoint && { endpoints: { cloudresourcemanager: endpoint } }),
        accessToken,
      }).testIamPermissions(permissions);
    },
    async callerMember() {
      const account = await property("account");
      if (!account?.includes("@")) return undefined;
      return account.endsWith(".gserviceaccount.com") ? `serviceAccount:${account}` : `user:${account}`;
    },

    getSecret(secretId) {
      return nullIfNotFound(() => json<Secret>(["secrets", "describe", secretId]));
    },
    createSecret(secretId) {
      return json<Secret>(["secrets", "create", secretId, "--replication-policy=automatic"]);
    },
    async listSecretVersions(secretId) {
      return (await json<SecretVersion[] | null>(["secrets", "versions", "list", secretId])) ?? [];
    },
    addSecretVersion(secretId, data) {
      // The value goes through stdin, never into the command line.
      return json<SecretVersion>(["secrets", "versions", "add", secretId, "--data-file=-"], data);
    },
    async accessSecretVersion(secretId, version = "latest") {
      const answer = await json<{ payload?: { data?: string } }>([
        "secrets",
        "versions",
        "access",
        version,
        `--secret=${secretId}`,
      ]);
      return Buffer.from(answer.payload?.data ?? "", "base64");
    },

    defaultRegion() {
      return property("compute/region");
    },
    accessToken,
  };
}

/** Runs gcloud non-interactively and classifies its failures. */
export function gcloudRunner(options: Pick<GcloudControlPlaneOptions, "gcloud" | "env">): GcloudRunner {
  const executable = options.gcloud ?? "gcloud";
  return (args, stdin) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        executable,
        [...args, "--quiet"],
        { ...(options.env && { env: options.env }), maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            return reject(
              new ControlPlaneError(
                "FAILED_PRECONDITION",
                `FAILED_PRECONDITION: '${executable}' is not installed`,
                undefined,
                { transient: false },
              ),
            );
          }
          reject(classifyGcloudFailure(stderr, args));
        },
      );
      child.stdin?.end(stdin);
    });
}

const CANONICAL =
  /\b(NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|INVALID_ARGUMENT|FAILED_PRECONDITION|RESOURCE_EXHAUSTED|UNAVAILABLE|DEADLINE_EXCEEDED|INTERNAL|ABORTED|UNAUTHENTICATED|OUT_OF_RANGE|UNIMPLEMENTED|CANCELLED)\b/;

/**
 * Turns gcloud's stderr into a `ControlPlaneError`. gcloud prints `ERROR: (gcloud.x) STATUS: msg`, or
 * `Status code: NNN. msg` (the IAM-policy commands), or, after its own retries of a 429/5xx,
 * `HttpError accessing <url>: response: <…>, content <{json}>`.
 */
export function classifyGcloudFailure(stderr: string, args: string[] = []): ControlPlaneError {
  const errorLine =
    stderr
      .split("\n")
      .find((line) => line.startsWith("ERROR:"))
      ?.replace(/^ERROR: \([^)]*\) /, "")
      .replace(/\.? ?This command is authenticated with .*$/, "") ??
    stderr.trim().split("\n").at(-1) ??
    "";
  const command = `gcloud ${args.filter((arg) => !arg.startsWith("-")).join(" ")}`;
  const content = stderr.match(/content <(\{.*\})>/s);
  if (content) {
    const httpStatus = Number(stderr.match(/'status': '?(\d{3})/)?.[1] ?? 0);
    try {
      const apiError = errorFromApiBody(httpStatus, JSON.parse(content[1]!));
      return new ControlPlaneError(
        apiError.status,
        `${command}: ${apiError.message}`,
        httpStatus || undefined,
      );
    } catch {
      // Not JSON after all; fall through to the error line.
    }
  }
  if (/Projects instance \[[^\]]*\] not found/.test(errorLine)) {
    return new ControlPlaneError("NOT_FOUND", `${command}: NOT_FOUND: ${errorLine}`);
  }
  // gcloud's wording for a 409 ABORTED on setIamPolicy (a concurrent policy change): worth a retry.
  if (/is the subject of a conflict/.test(errorLine)) {
    return new ControlPlaneError("ABORTED", `${command}: ABORTED: ${errorLine}`, 409);
  }
  const statusCode = errorLine.match(/^Status code: (\d{3})\. ?(.*)$/);
  if (statusCode) {
    const apiError = errorFromApiBody(Number(statusCode[1]), { error: { message: statusCode[2] } });
    return new ControlPlaneError(apiError.status, `${command}: ${apiError.message}`, Number(statusCode[1]));
  }
  const status = errorLine.match(CANONICAL)?.[1];
  if (status) return new ControlPlaneError(status, `${command}: ${errorLine}`);
  // gcloud could not reach the API at all (its own retries exhausted): a network failure, transient.
  const unreachable =
    /network connectivity|connection (refused|reset|aborted)|timed out|unable to find the server/i.test(
      stderr,
    );
  return new ControlPlaneError(
    unreachable ? "UNAVAILABLE" : "UNKNOWN",
    `${command}: ${errorLine || "failed"}`,
    undefined,
    { transient: unreachable },
  );
}
