/**
 * The GCP control plane Firebrick needs (Service Usage, Firestore Admin), behind one interface so that
 * the bootstrap, index and TTL flows run unchanged on the `gcloud` CLI or on the REST APIs. Shapes are
 * the REST resources' own (camelCase), which is also what `gcloud --format=json` prints.
 */

export const FIRESTORE_SERVICE = "firestore.googleapis.com";
export const DEFAULT_DATABASE = "(default)";

/** A Firestore `Database` resource (v1). It has no `state`: readiness is "create done and readable". */
export interface Database {
  name: string;
  locationId?: string;
  type?: "FIRESTORE_NATIVE" | "DATASTORE_MODE" | "DATABASE_TYPE_UNSPECIFIED";
  createTime?: string;
  [field: string]: unknown;
}

/** A long-running operation (google.longrunning.Operation). */
export interface Operation {
  name: string;
  done?: boolean;
  error?: { code: number; message: string; status?: string };
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

export interface ControlPlane {
  readonly kind: "gcloud" | "rest";
  readonly projectId: string;
  getService(service: string): Promise<Service>;
  enableService(service: string): Promise<Operation>;
  /** The default database, or `null` when it does not exist. */
  getDatabase(): Promise<Database | null>;
  createDatabase(locationId: string): Promise<Operation>;
  /** Either API's operation, told apart by name (`operations/…` is Service Usage's). */
  getOperation(name: string): Promise<Operation>;
  listIndexes(): Promise<Index[]>;
  createIndex(collectionGroup: string, index: Pick<Index, "queryScope" | "fields">): Promise<Operation>;
  getField(collectionGroup: string, fieldPath: string): Promise<Field>;
  /**
   * Overrides a field's single-field indexes with exactly `indexes`; none exempts the field from
   * single-field indexing (an empty `indexConfig`).
   */
  setFieldIndexes(collectionGroup: string, fieldPath: string, indexes: FieldIndex[]): Promise<Operation>;
  enableTtl(collectionGroup: string, fieldPath: string): Promise<Operation>;
  /** The project's default region, the seed's default for `database_location`, when one is configured. */
  defaultRegion(): Promise<string | undefined>;
}

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
