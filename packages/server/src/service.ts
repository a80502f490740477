import { AlarmEvaluator } from "./alarms/evaluator.js";
import type { AlarmsStore } from "./alarms/types.js";
import { LOGIN_LIMITS, type LoginLimits } from "./auth/login-limits.js";
import { createPasswordHasher, type PasswordHasher } from "./auth/passwords.js";
import { type SessionCookie, sessionCookie } from "./auth/session-cookie.js";
import { DeviceAccess } from "./devices/access.js";
import { Connectivity, DEFAULT_OFFLINE_AFTER_MS } from "./devices/connectivity.js";
import { FleetLimiter } from "./fleet/limiter.js";
import type { FleetState } from "./fleet/types.js";
import type { Metrics } from "./observability/metrics.js";
import {
  createSessionManager,
  SESSION_POLICY,
  type SessionManager,
  type SessionPolicy,
} from "./sessions/manager.js";
import type { TelemetryFlipGate } from "./stores/routing/flag-change.js";
import type { FlagsState } from "./stores/routing/flags.js";
import type { StoreRouter } from "./stores/routing/router.js";
import type { Clock } from "./stores/types.js";
import { LatestTelemetryCache } from "./telemetry/latest-cache.js";
import { TenantDirectory } from "./tenancy/tenant-directory.js";
import { TenantTimeZones } from "./tenancy/time-zones.js";
import type { WebhooksStore } from "./webhooks/types.js";

/**
 * Everything the API's routes use, built once per server by `createServiceContext`. Stores are reached
 * only through `router.stores`, which follows the routing flags call by call.
 */
export interface ServiceContext {
  router: StoreRouter;
  flags: FlagsState;
  /** The service-wide state every instance shares: limiter records, change feed, platform audit log. */
  fleet: FleetState;
  clock: Clock;
  passwords: PasswordHasher;
  sessions: SessionManager;
  cookie: SessionCookie;
  /** Device lookups and device-token authentication (`devices/access.ts`). */
  devices: DeviceAccess;
  /** `last_seen_ms` and online/offline (`devices/connectivity.ts`). */
  connectivity: Connectivity;
  /** "The latest N points" of each polled device, for the dashboards' read budget. */
  latestPoints: LatestTelemetryCache;
  /** The fleet-wide limits (device writes, sign-in, refused-session audits): `fleet/limiter.ts`. */
  limits: FleetLimiter;
  /** Tenants' time zones, for daily trend buckets (`tenancy/time-zones.ts`). */
  tenantZones: TenantTimeZones;
  /** Whether a tenant exists, for the audit log (`tenancy/tenant-directory.ts`). */
  tenants: TenantDirectory;
  /** Alarm rules and alarms, with the service-wide state (docs/design/alarms.md). */
  alarms: AlarmsStore;
  /** Judges threshold rules on accepted writes; holds each device's rules (`alarms/evaluator.ts`). */
  alarmEvaluator: AlarmEvaluator;
  /** Webhook registrations and their delivery log, with the alarms (docs/design/webhooks.md). */
  webhooks: WebhooksStore;
  /** Whether webhooks may point at private addresses (`FIREBRICK_WEBHOOK_ALLOW_PRIVATE`). */
  webhookTargets: { allowPrivate: boolean };
  /** The tenant header's name, lower-cased. */
  tenantHeader: string;
  deviceWritesPerMinute: number;
  loginLimits: LoginLimits;
  metrics?: Metrics;
  /** The readiness gate of telemetry reads moving to Firestore; absent without Firestore. */
  telemetryGate: TelemetryFlipGate | undefined;
}

export interface ServiceOptions {
  router: StoreRouter;
  flags: FlagsState;
  fleet: FleetState;
  alarms: AlarmsStore;
  webhooks: WebhooksStore;
  /** Off unless given: webhooks may not point at private addresses. */
  webhookTargets?: { allowPrivate: boolean };
  tenantHeader: string;
  cookieSecure: boolean;
  deviceWritesPerMinute: number;
  /** `FIREBRICK_CACHE_MEMORY_MIB` in bytes: what the per-device structures may hold together. */
  cacheMemoryBytes: number;
  /** After how long without accepted telemetry a device is offline; 5 minutes unless given. */
  deviceOfflineAfterMs?: number;
  clock?: Clock;
  /** Production: Argon2id at the cost of docs/design/passwords.md. Tests pass a cheaper hasher. */
  passwords?: PasswordHasher;
  sessionPolicy?: SessionPolicy;
  loginLimits?: LoginLimits;
  /** Budget and rate-limit rejections are counted here when given. */
  metrics?: Metrics;
  telemetryGate?: TelemetryFlipGate;
  /** Failures of what runs in the background (an area move's session revocation). */
  onError?: (error: unknown, what: string) => void;
}

/**
 * How `FIREBRICK_CACHE_MEMORY_MIB` is shared among the per-device structures (docs/design/fleet.md):
 * mostly the latest points, which are what dashboards need fast. Each counts its entries as the heap
 * holds them (`entryOverhead` in bounded-map.ts), so the shares add up to what the heap holds.
 */
export function cacheShares(bytes: number) {
  return {
    latestPoints: Math.floor(bytes * 0.6),
    devices: Math.floor(bytes * 0.125),
    limits: Math.floor(bytes * 0.1),
    connectivity: Math.floor(bytes * 0.1),
    alarmRules: Math.floor(bytes * 0.05),
    tenants: Math.floor(bytes * 0.025),
  };
}

/**
 * Builds the service's parts and wires what must react to an area moving to the other store: caches
 * of per-area data forget what they hold (docs/design/store-routing.md).
 *
 * @example
 * const ctx = createServiceContext({ router, flags, fleet, tenantHeader: config.tenantHeader, cookieSecure: true, deviceWritesPerMinute: 5, cacheMemoryBytes: 64 * 2 ** 20 });
 * await registerApi(app, ctx);
 */
export function createServiceContext(options: ServiceOptions): ServiceContext {
  const clock = options.clock ?? Date.now;
  const policy = options.sessionPolicy ?? SESSION_POLICY;
  const { router, fleet } = options;
  const shares = cacheShares(options.cacheMemoryBytes);
  const ctx: ServiceContext = {
    router,
    flags: options.flags,
    fleet,
    clock,
    passwords: options.passwords ?? createPasswordHasher(),
    sessions: createSessionManager({
      sessions: () => router.stores.sessions,
      users: () => router.stores.users,
      clock,
      policy,
    }),
    cookie: sessionCookie({ secure: options.cookieSecure, maxAgeMs: policy.absoluteTimeoutMs }),
    devices: new DeviceAccess(() => router.stores.devices, fleet.changes, {
      clock,
      maxBytes: shares.devices,
      onError: (error) => options.onError?.(error, "publishing a device change on the change feed"),
    }),
    connectivity: new Connectivity(() => router.stores.devices, {
      clock,
      offlineAfterMs: options.deviceOfflineAfterMs ?? DEFAULT_OFFLINE_AFTER_MS,
      maxBytes: shares.connectivity,
    }),
    latestPoints: new LatestTelemetryCache(() => router.stores.telemetry, {
      clock,
      maxBytes: shares.latestPoints,
    }),
    limits: new FleetLimiter(fleet.records, { clock, maxBytes: shares.limits }),
    tenantZones: new TenantTimeZones(() => router.stores.tenants, clock),
    tenants: new TenantDirectory(() => router.stores.tenants, { maxBytes: shares.tenants }),
    alarms: options.alarms,
    alarmEvaluator: new AlarmEvaluator(() => options.alarms, {
      clock,
      maxBytes: shares.alarmRules,
      announce: (tenant, deviceId) => ctx.devices.changed(tenant, deviceId),
    }),
    webhooks: options.webhooks,
    webhookTargets: options.webhookTargets ?? { allowPrivate: false },
    tenantHeader: options.tenantHeader.toLowerCase(),
    deviceWritesPerMinute: options.deviceWritesPerMinute,
    loginLimits: options.loginLimits ?? LOGIN_LIMITS,
    ...(options.metrics && { metrics: options.metrics }),
    telemetryGate: options.telemetryGate,
  };
  // What this instance holds of an area is stale once the area is served by the other store.
  router.onAreaMoved((move) => {
    if (move.stores.includes("devices")) {
      ctx.devices.forgetAll();
      ctx.connectivity.clear();
    }
    if (move.stores.includes("users")) ctx.sessions.forgetUsers();
    if (move.stores.includes("tenants")) ctx.tenantZones.clear();
    if (move.stores.includes("telemetry")) ctx.latestPoints.clear();
    if (move.stores.includes("sessions")) {
      // Every instance clears the sessions of the store the auth area left (the flag change did it once
      // already): a session started there by an instance that had not yet heard of the move, and this
      // instance's own SQLite file's sessions, must not come back to life if the flag flips back.
      const left = router.all().find(({ backend }) => backend === move.from)?.stores.sessions;
      left?.deleteAll().catch((error) => options.onError?.(error, "revoking the sessions of the store left"));
    }
  });
  return ctx;
}
