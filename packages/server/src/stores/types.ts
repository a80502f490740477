/**
 * The store interfaces (docs/design/stores.md). Each has a SQLite and a Firestore implementation, and one
 * contract suite runs against both. Rules for every implementation:
 * - every method takes the tenant explicitly and never returns another tenant's rows;
 * - timestamps are UTC epoch milliseconds in the domain shapes (Firestore TTL fields are Timestamps
 *   in storage only);
 * - every call reports its billed document reads and writes to the injected `UsageRecorder`;
 * - rows past their retention (`expire_at`) are filtered out on read even before TTL deletes them;
 * - lists page with opaque cursors, never offsets.
 */

export type TenantId = string;
export type Role = "admin" | "operator" | "viewer";
export const ROLES: readonly Role[] = ["admin", "operator", "viewer"];

/** A clock in epoch milliseconds; injected so that expiry can be tested without sleeping. */
export type Clock = () => number;

/** A page of results and the cursor of the next page (`null` at the end). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

// ---------------------------------------------------------------------------------------------
// Errors a store may throw. Anything else is a bug or an outage.

/** A uniqueness rule was violated (username taken, tenant exists, id reused). */
export class StoreConflictError extends Error {
  override name = "StoreConflictError";
}
/** The cursor is not one this store issued (tampered, or from another query). */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}
/** The backing database cannot be reached or refused for a transient reason; the request may be retried. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  /** How long until a retry can succeed, when the store knows (an open circuit breaker's wait). */
  readonly retryAfterMs: number | undefined;

  constructor(message?: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    const { retryAfterMs, ...errorOptions } = options;
    super(message, errorOptions);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Result of an ownership check on an id that is global (UUID) but belongs to one tenant. */
export type Ownership = "owned" | "other_tenant" | "missing";

// ---------------------------------------------------------------------------------------------

export interface Tenant {
  id: TenantId;
  name: string;
  created_at: number;
}

export interface TenantsStore {
  /** Throws StoreConflictError if the id exists. */
  create(tenant: { id: TenantId; name?: string }): Promise<Tenant>;
  get(id: TenantId): Promise<Tenant | null>;
  list(): Promise<Tenant[]>;
}

// ---------------------------------------------------------------------------------------------

/** How a password hash was made: for Argon2id `{ algorithm: "argon2id", m, t, p }`; legacy formats name themselves. */
export interface PasswordParams {
  algorithm: string;
  [parameter: string]: string | number;
}

export interface User {
  id: string; // UUIDv4
  tenant_id: TenantId;
  username: string; // as entered; uniqueness is case-insensitive per tenant
  role: Role;
  password_hash: string; // PHC string (or a legacy format flagged by needs_rehash)
  algo_params: PasswordParams;
  needs_rehash: boolean;
  created_at: number;
  updated_at: number;
}

export interface NewUser {
  id?: string; // a migration keeps a legacy UUIDv4; otherwise generated
  username: string;
  role: Role;
  password_hash: string;
  algo_params: PasswordParams;
  needs_rehash?: boolean;
}

export interface UsersStore {
  /** Throws StoreConflictError if the username (case-insensitively) or the id is taken in this tenant. */
  create(tenant: TenantId, user: NewUser): Promise<User>;
  get(tenant: TenantId, id: string): Promise<User | null>;
  getByUsername(tenant: TenantId, username: string): Promise<User | null>;
  list(tenant: TenantId, options?: { limit?: number; cursor?: string | null }): Promise<Page<User>>;
  /** Returns the updated user, or null if there is none in this tenant. */
  updateRole(tenant: TenantId, id: string, role: Role): Promise<User | null>;
  updatePassword(
    tenant: TenantId,
    id: string,
    password: { password_hash: string; algo_params: PasswordParams; needs_rehash: boolean },
  ): Promise<User | null>;
  /** Deletes the user and frees the username. Returns false if there was none in this tenant. */
  delete(tenant: TenantId, id: string): Promise<boolean>;
  ownership(tenant: TenantId, id: string): Promise<Ownership>;
}

// ---------------------------------------------------------------------------------------------

export interface Session {
  id: string; // SHA-256 (hex) of the opaque token; the token itself is never stored
  tenant_id: TenantId;
  user_id: string;
  created_at: number;
  last_seen_at: number; // the idle clock, refreshed at most once a minute
  expires_at: number; // absolute expiry; the Firestore TTL field
  fingerprint: string; // coarse: user-agent family + IPv4 /24 or IPv6 /48
  user_agent: string | null;
  ip: string | null;
}

export type SessionLookup =
  | { status: "found"; session: Session }
  | { status: "missing" }
  // The token is valid but for another tenant: the caller answers 403 and audits, and gets no row.
  | { status: "other_tenant" };

export interface SessionsStore {
  create(session: Session): Promise<void>;
  /** Expired sessions (absolute expiry passed) are reported missing. */
  find(tenant: TenantId, id: string): Promise<SessionLookup>;
  /** Moves the idle clock. One write. */
  touch(tenant: TenantId, id: string, lastSeenAt: number): Promise<void>;
  listByUser(tenant: TenantId, userId: string): Promise<Session[]>;
  delete(tenant: TenantId, id: string): Promise<boolean>;
  /** Revokes every session of the user, but `exceptId` if given. Returns how many were deleted. */
  deleteAllForUser(tenant: TenantId, userId: string, options?: { exceptId?: string }): Promise<number>;
  /** The sweeper: deletes up to `limit` sessions of any tenant whose absolute or idle expiry has passed. */
  deleteExpired(now: number, options: { idleTimeoutMs: number; limit: number }): Promise<number>;
  /** Revokes every session of every tenant (auth cutover or rollback forces a re-login). */
  deleteAll(): Promise<number>;
}

// ---------------------------------------------------------------------------------------------

export interface Device {
  id: string; // UUIDv4
  tenant_id: TenantId;
  name: string;
  token_hash: string; // SHA-256 (hex) of the device's bearer token
  created_at: number;
  token_rotated_at: number;
}

export interface DevicesStore {
  create(tenant: TenantId, device: { id?: string; name: string; token_hash: string }): Promise<Device>;
  get(tenant: TenantId, id: string): Promise<Device | null>;
  list(tenant: TenantId, options?: { limit?: number; cursor?: string | null }): Promise<Page<Device>>;
  delete(tenant: TenantId, id: string): Promise<boolean>;
  /** Replaces the token hash (rotation); returns the updated device or null. */
  setTokenHash(tenant: TenantId, id: string, tokenHash: string): Promise<Device | null>;
  ownership(tenant: TenantId, id: string): Promise<Ownership>;
}

// ---------------------------------------------------------------------------------------------

export type PointSource = "api" | "sqlite_backfill" | "simulator" | (string & {});

/**
 * A metric name, one rule on both stores (docs/design/telemetry.md): 1–64 letters, digits, `_ . : / -`,
 * starting with a letter, a digit or `_`, and not of the form `__…__`, which Firestore reserves for field
 * names (SQLite would keep it, Firestore refuses it: a name must mean the same to both). Rollups and point
 * definitions are keyed by it.
 */
export const METRIC_NAME_PATTERN = "^(?!__.*__$)[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}$";
const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export interface TelemetryPoint {
  tenant_id: TenantId;
  device_id: string;
  timestamp_ms: number;
  metrics: Record<string, number>;
  source: PointSource;
}

export interface NewPoint {
  timestamp_ms: number;
  metrics: Record<string, number>;
  source?: PointSource;
}

/** Telemetry is kept 90 days after its event time. */
export const TELEMETRY_RETENTION_MS = 90 * 24 * 3600 * 1000;

export interface TelemetryStore {
  /**
   * Appends points in batches of at most 500. A point's identity is (tenant, device, timestamp_ms):
   * writing the same point again overwrites it, so retries and re-run backfills never duplicate.
   */
  append(tenant: TenantId, deviceId: string, points: NewPoint[]): Promise<{ written: number }>;
  /** The newest `limit` points, newest first. */
  latest(tenant: TenantId, deviceId: string, limit: number): Promise<TelemetryPoint[]>;
  /** Points with from ≤ timestamp_ms < to, newest first, paged by an opaque cursor. */
  window(
    tenant: TenantId,
    deviceId: string,
    query: { from: number; to: number; limit: number; cursor?: string | null },
  ): Promise<Page<TelemetryPoint>>;
  /**
   * The newest `limit` points with timestamp_ms > after, returned oldest first (incremental polling,
   * served by the same descending index as `latest`). A full result may have skipped points between
   * `after` and the oldest one returned; a caller that needs them all pages a `window` instead.
   */
  newerThan(tenant: TenantId, deviceId: string, after: number, limit: number): Promise<TelemetryPoint[]>;
}

// ---------------------------------------------------------------------------------------------

export interface AuditEntry {
  id: string;
  tenant_id: TenantId;
  action: string; // e.g. "auth.login", "auth.login_failed", "tenant.violation", "flags.update"
  user_id: string | null;
  timestamp_ms: number;
  outcome: "success" | "failure" | "denied";
  target: string | null; // what was acted on, e.g. "device:…", "user:…"
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  source: "app" | "sqlite_backfill";
}

export type NewAuditEntry = Omit<
  AuditEntry,
  "id" | "tenant_id" | "source" | "target" | "ip" | "user_agent" | "details"
> &
  Partial<Pick<AuditEntry, "id" | "source" | "target" | "ip" | "user_agent" | "details">>;

/** Audit entries are kept 180 days. */
export const AUDIT_RETENTION_MS = 180 * 24 * 3600 * 1000;

/** Append-only by design: there is no update or delete. */
export interface AuditLogStore {
  /** Appending an entry whose id exists already is a no-op (idempotent backfill). */
  append(tenant: TenantId, entry: NewAuditEntry): Promise<AuditEntry>;
  /** Newest first, optionally filtered by user and/or action. */
  query(
    tenant: TenantId,
    filter: { user_id?: string; action?: string; limit: number; cursor?: string | null },
  ): Promise<Page<AuditEntry>>;
}

// ---------------------------------------------------------------------------------------------

export interface Stores {
  tenants: TenantsStore;
  users: UsersStore;
  sessions: SessionsStore;
  devices: DevicesStore;
  telemetry: TelemetryStore;
  audit: AuditLogStore;
}
