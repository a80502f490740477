/**
 * The GCP control plane Firebrick needs (Service Usage, Firestore Admin, IAM, Resource Manager, Secret
 * Manager), behind one interface so that the bootstrap, index, TTL and environment flows run unchanged on
 * the `gcloud` CLI or on the REST APIs. Shapes are the REST resources' own (camelCase), which is also what
 * `gcloud --format=json` prints.
 */

export const FIRESTORE_SERVICE = "firestore.googleapis.com";
export const DEFAULT_DATABASE = "(default)";

export { GCP_APIS, type GcpApi } from "../config/gcp.js";

/** A Firestore `Database` resource (v1). It has no `state`: readiness is "create done and readable". */
export interface Database {
  name: string;
  locationId?: string;
  type?: "FIRESTORE_NATIVE" | "DATASTORE_MODE" | "DATABASE_TYPE_UNSPECIFIED";
  createTime?: string;
  pointInTimeRecoveryEnablement?:
    | "POINT_IN_TIME_RECOVERY_ENABLED"
    | "POINT_IN_TIME_RECOVERY_DISABLED"
    | "POINT_IN_TIME_RECOVERY_ENABLEMENT_UNSPECIFIED";
  deleteProtectionState?:
    | "DELETE_PROTECTION_ENABLED"
    | "DELETE_PROTECTION_DISABLED"
    | "DELETE_PROTECTION_STATE_UNSPECIFIED";
  [field: string]: unknown;
}

/** The protection settings of a database; `undefined` leaves a setting as it is (or the API's default). */
export interface DatabaseProtection {
  pointInTimeRecovery?: boolean;
  deleteProtection?: boolean;
}

export const DAYS_OF_WEEK = [
  "MONDAY",
  "TUESDAY",
  "WEDNESDAY",
  "THURSDAY",
  "FRIDAY",
  "SATURDAY",
  "SUNDAY",
] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** A backup schedule (google.firestore.admin.v1.BackupSchedule): daily or weekly, with a retention. */
export interface BackupSchedule {
  name: string;
  /** A duration in seconds, e.g. `"604800s"`. */
  retention: string;
  dailyRecurrence?: Record<string, never>;
  weeklyRecurrence?: { day: DayOfWeek };
  createTime?: string;
  updateTime?: string;
}

/** What a backup schedule should be: the recurrence, its day (weekly only), the retention in seconds. */
export interface BackupScheduleSpec {
  recurrence: "daily" | "weekly";
  day?: DayOfWeek;
  retentionSeconds: number;
}

/** A long-running operation (google.longrunning.Operation). */
export interface Operation {
  name: string;
  done?: boolean;
  error?: { code?: number; message: string; status?: string };
  metadata?: Record<string, unknown>;
  response?: Record<string, unknown>;
}

export interface Service {
  name: string;
  state: "ENABLED" | "DISABLED" | "STATE_UNSPECIFIED";
}

export type IndexOrder = "ASCENDING" | "DESCENDING";

export interface IndexField {
  fieldPath: string;
  order?: IndexOrder;
  arrayConfig?: "CONTAINS";
}

/** A composite index (google.firestore.admin.v1.Index). */
export interface Index {
  name?: string;
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  fields: IndexField[];
  state?: "CREATING" | "READY" | "NEEDS_REPAIR" | "STATE_UNSPECIFIED";
}

/** One single-field index of a field override: an order or `CONTAINS`, in a query scope. */
export interface FieldIndex {
  queryScope: "COLLECTION" | "COLLECTION_GROUP";
  order?: "ASCENDING" | "DESCENDING";
  arrayConfig?: "CONTAINS";
}

/** A single-field configuration (google.firestore.admin.v1.Field). */
export interface Field {
  name: string;
  indexConfig?: {
    indexes?: Index[];
    usesAncestorConfig?: boolean;
    ancestorField?: string;
    reverting?: boolean;
  };
  ttlConfig?: { state?: "CREATING" | "ACTIVE" | "NEEDS_REPAIR" | "STATE_UNSPECIFIED" };
}

/** An IAM service account (iam.v1.ServiceAccount). */
export interface ServiceAccount {
  name: string;
  email: string;
  projectId?: string;
  uniqueId?: string;
  displayName?: string;
  disabled?: boolean;
}

/** An IAM policy (google.iam.v1.Policy). Conditional bindings are kept, never written by Firebrick. */
export interface IamPolicy {
  version?: number;
  etag?: string;
  bindings?: { role: string; members: string[]; condition?: Record<string, unknown> }[];
}

/** What an IAM policy is attached to: the project, or one of its secrets. */
export type IamResource = { type: "project" } | { type: "secret"; secretId: string };

/** A Secret Manager secret (metadata only; values live in its versions). */
export interface Secret {
  name: string;
  createTime?: string;
  replication?: Record<string, unknown>;
}

export interface SecretVersion {
  name: string;
  state: "ENABLED" | "DISABLED" | "DESTROYED" | "STATE_UNSPECIFIED";
  createTime?: string;
}

/**
 * The control plane of one project and one Firestore database. Every method is one API call (or one
 * gcloud command); waiting for operations and retrying are the callers' business.
 */
export interface ControlPlane {
  readonly kind: "gcloud" | "rest";
  readonly projectId: string;
  /** The Firestore database the Firestore Admin methods act on (`(default)` unless named). */
  readonly databaseId: string;

  // Service Usage
  getService(service: string): Promise<Service>;
  /** The ids of the project's enabled services (`firestore.googleapis.com`…). */
  listEnabledServices(): Promise<string[]>;
  enableServices(services: string[]): Promise<Operation>;

  // Firestore Admin: the database and its protection
  /** The database, or `null` when it does not exist. */
  getDatabase(): Promise<Database | null>;
  createDatabase(locationId: string, protection?: DatabaseProtection): Promise<Operation>;
  updateDatabase(protection: DatabaseProtection): Promise<Operation>;
  /** Any API's operation, told apart by name (`operations/…` is Service Usage's). */
  getOperation(name: string): Promise<Operation>;
  listBackupSchedules(): Promise<BackupSchedule[]>;
  createBackupSchedule(spec: BackupScheduleSpec): Promise<BackupSchedule>;
  updateBackupSchedule(name: string, retentionSeconds: number): Promise<BackupSchedule>;
  deleteBackupSchedule(name: string): Promise<void>;

  // Firestore Admin: indexes and field configuration
  listIndexes(): Promise<Index[]>;
  createIndex(collectionGroup: string, index: Pick<Index, "queryScope" | "fields">): Promise<Operation>;
  deleteIndex(name: string): Promise<void>;
  getField(collectionGroup: string, fieldPath: string): Promise<Field>;
  /** Fields with their own index configuration or a TTL policy (the database-wide default left out). */
  listFieldOverrides(): Promise<Field[]>;
  /**
   * Overrides a field's single-field indexes with exactly `indexes`; none exempts the field from
   * single-field indexing (an empty `indexConfig`).
   */
  setFieldIndexes(collectionGroup: string, fieldPath: string, indexes: FieldIndex[]): Promise<Operation>;
  /** Drops a field's own index configuration: it inherits the database-wide default again. */
  revertFieldIndexes(collectionGroup: string, fieldPath: string): Promise<Operation>;
  enableTtl(collectionGroup: string, fieldPath: string): Promise<Operation>;
  disableTtl(collectionGroup: string, fieldPath: string): Promise<Operation>;

  // IAM and Resource Manager
  /** A service account by e-mail, or `null` when it does not exist. */
  getServiceAccount(email: string): Promise<ServiceAccount | null>;
  createServiceAccount(accountId: string, displayName: string): Promise<ServiceAccount>;
  getIamPolicy(resource: IamResource): Promise<IamPolicy>;
  /** Adds `member` to `role`'s unconditional binding (read, modify, write with the policy's etag). */
  addIamBinding(resource: IamResource, role: string, member: string): Promise<IamPolicy>;
  /** The subset of `permissions` the caller holds on the project (Resource Manager testIamPermissions). */
  testIamPermissions(permissions: string[]): Promise<string[]>;
  /** The caller as an IAM member (`user:…`, `serviceAccount:…`) when it can be known without an API call. */
  callerMember(): Promise<string | undefined>;

  // Secret Manager
  /** A secret, or `null` when it does not exist. */
  getSecret(secretId: string): Promise<Secret | null>;
  createSecret(secretId: string): Promise<Secret>;
  listSecretVersions(secretId: string): Promise<SecretVersion[]>;
  addSecretVersion(secretId: string, data: Buffer): Promise<SecretVersion>;
  /** A version's payload (`latest` by default). */
  accessSecretVersion(secretId: string, version?: string): Promise<Buffer>;

  /** The project's default region, the seed's default for `database_location`, when one is configured. */
  defaultRegion(): Promise<string | undefined>;
}

/**
 * The methods that change the project. Listed here, beside the interface, so that a new mutating method
 * cannot be forgotten by the read-only wrapper: `READ_METHODS` and this list must cover the interface.
 */
export const MUTATING_METHODS = [
  "enableServices",
  "createDatabase",
  "updateDatabase",
  "createBackupSchedule",
  "updateBackupSchedule",
  "deleteBackupSchedule",
  "createIndex",
  "deleteIndex",
  "setFieldIndexes",
  "revertFieldIndexes",
  "enableTtl",
  "disableTtl",
  "createServiceAccount",
  "addIamBinding",
  "createSecret",
  "addSecretVersion",
] as const satisfies readonly (keyof ControlPlane)[];

export const READ_METHODS = [
  "getService",
  "listEnabledServices",
  "getDatabase",
  "getOperation",
  "listBackupSchedules",
  "listIndexes",
  "getField",
  "listFieldOverrides",
  "getServiceAccount",
  "getIamPolicy",
  "testIamPermissions",
  "callerMember",
  "getSecret",
  "listSecretVersions",
  "accessSecretVersion",
  "defaultRegion",
] as const satisfies readonly (keyof ControlPlane)[];

// Compile-time: every method of ControlPlane is in exactly one of the two lists.
type Method = Exclude<keyof ControlPlane, "kind" | "projectId" | "databaseId">;
type Unlisted = Exclude<Method, (typeof MUTATING_METHODS)[number] | (typeof READ_METHODS)[number]>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

const TRANSIENT_STATUSES = new Set([
  "UNAVAILABLE",
  "RESOURCE_EXHAUSTED",
  "DEADLINE_EXCEEDED",
  "ABORTED",
  "INTERNAL",
]);

/**
 * A control-plane call failed. `transient` failures (429, 5xx, UNAVAILABLE…) are worth retrying;
 * the others (403, 400, 404…) are not, and `message` carries the API's reason.
 */
export class ControlPlaneError extends Error {
  override name = "ControlPlaneError";
  readonly transient: boolean;

  constructor(
    /** The canonical status (`PERMISSION_DENIED`, `UNAVAILABLE`…), or `UNKNOWN`. */
    readonly status: string,
    message: string,
    /** The HTTP status when there was one. */
    readonly httpStatus?: number,
    options: { cause?: unknown; transient?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.transient =
      options.transient ??
      (TRANSIENT_STATUSES.has(status) ||
        httpStatus === 429 ||
        (httpStatus !== undefined && httpStatus >= 500));
  }
}

/** Whether a failure means "it does not exist" (a 404), which several reads answer with `null`. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ControlPlaneError && error.status === "NOT_FOUND";
}

/** A read whose 404 means "absent": `null` then, any other failure thrown. */
export async function nullIfNotFound<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

const HTTP_TO_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ALREADY_EXISTS",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The canonical status for an HTTP status, when the body did not name one. */
export function statusForHttp(httpStatus: number): string {
  return HTTP_TO_STATUS[httpStatus] ?? (httpStatus >= 500 ? "UNAVAILABLE" : "UNKNOWN");
}

/** Builds the error for a Google API error body (`{ error: { code, message, status } }`). */
export function errorFromApiBody(httpStatus: number, body: unknown): ControlPlaneError {
  const error = (body as { error?: { message?: unknown; status?: unknown } } | null)?.error;
  const status = typeof error?.status === "string" ? error.status : statusForHttp(httpStatus);
  const message = typeof error?.message === "string" ? error.message : `HTTP ${httpStatus}`;
  return new ControlPlaneError(status, `${status}: ${message}`, httpStatus);
}

/** The e-mail of a project's service account: `<accountId>@<project>.iam.gserviceaccount.com`. */
export function serviceAccountEmail(accountId: string, projectId: string): string {
  return `${accountId}@${projectId}.iam.gserviceaccount.com`;
}

/** Whether a policy grants `role` to `member` unconditionally. */
export function policyGrants(policy: IamPolicy, role: string, member: string): boolean {
  return (policy.bindings ?? []).some(
    (binding) => binding.role === role && !binding.condition && binding.members.includes(member),
  );
}

/** The policy with `member` added to `role`'s unconditional binding (a new binding when there is none). */
export function withBinding(policy: IamPolicy, role: string, member: string): IamPolicy {
  const bindings = structuredClone(policy.bindings ?? []);
  const binding = bindings.find((candidate) => candidate.role === role && !candidate.condition);
  if (binding) {
    if (!binding.members.includes(member)) binding.members.push(member);
  } else {
    bindings.push({ role, members: [member] });
  }
  return { ...policy, version: Math.max(policy.version ?? 1, 1), bindings };
}

/** `604800` → `"604800s"`, the JSON form of a protobuf Duration. */
export function durationString(seconds: number): string {
  return `${seconds}s`;
}

/** `"604800s"` → `604800`; anything else is `NaN`. */
export function durationSeconds(duration: string | undefined): number {
  const match = duration?.match(/^(\d+)(?:\.\d+)?s$/);
  return match ? Number(match[1]) : Number.NaN;
}
