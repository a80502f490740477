import { LOGIN_LIMITS, type LoginLimits } from "./auth/login-limits.js";
import { createPasswordHasher, type PasswordHasher } from "./auth/passwords.js";
import { type SessionCookie, sessionCookie } from "./auth/session-cookie.js";
import { DeviceAccess } from "./devices/access.js";
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
import { TenantTimeZones } from "./tenancy/time-zones.js";

/**
 * Everything the API's routes use, built once per server by `createServiceContext`. Stores are reached
 * only through `router.stores`, which follows the routing flags call by call.
 */
export interface ServiceContext {
  router: StoreRouter;
  flags: FlagsState;
  clock: Clock;
  passwords: PasswordHasher;
  sessions: SessionManager;
  cookie: SessionCookie;
  /** Device lookups and device-token authentication (`devices/access.ts`). */
  devices: DeviceAccess;
  /** "The latest N points" of each polled device, for the dashboards' read budget. */
  latestPoints: LatestTelemetryCache;
  /** Tenants' time zones, for daily trend buckets (`tenancy/time-zones.ts`). */
  tenantZones: TenantTimeZones;
  /** The tenant header's name, lower-cased. */
  tenantHeader: string;
  deviceWritesPerMinute: number;
  loginLimits: LoginLimits;
  metrics?: Metrics;
  /** Blocks the telemetry read flip at the end of a dual-write window; absent without Firestore. */
  telemetryFlipGate: TelemetryFlipGate | undefined;
}

export interface ServiceOptions {
  router: StoreRouter;
  flags: FlagsState;
  tenantHeader: string;
  cookieSecure: boolean;
  deviceWritesPerMinute: number;
  clock?: Clock;
  /** Production: Argon2id at the cost of docs/design/passwords.md. Tests pass a cheaper hasher. */
  passwords?: PasswordHasher;
  sessionPolicy?: SessionPolicy;
  loginLimits?: LoginLimits;
  /** Budget and rate-limit rejections are counted here when given. */
  metrics?: Metrics;
  telemetryFlipGate?: TelemetryFlipGate;
}

/**
 * Builds the service's parts and wires what must react to an area moving to the other store: caches
 * of per-area data forget what they hold (docs/design/store-routing.md).
 *
 * @example
 * const ctx = createServiceContext({ router, flags, tenantHeader: config.tenantHeader, cookieSecure: true, deviceWritesPerMinute: 5 });
 * await registerApi(app, ctx);
 */
export function createServiceContext(options: ServiceOptions): ServiceContext {
  const clock = options.clock ?? Date.now;
  const policy = options.sessionPolicy ?? SESSION_POLICY;
  const { router } = options;
  const ctx: ServiceContext = {
    router,
    flags: options.flags,
    clock,
    passwords: options.passwords ?? createPasswordHasher(),
    sessions: createSessionManager({
      sessions: () => router.stores.sessions,
      users: () => router.stores.users,
      clock,
      policy,
    }),
    cookie: sessionCookie({ secure: options.cookieSecure, maxAgeMs: policy.absoluteTimeoutMs }),
    devices: new DeviceAccess(() => router.stores.devices, clock),
    latestPoints: new LatestTelemetryCache(() => router.stores.telemetry, { clock }),
    tenantZones: new TenantTimeZones(() => router.stores.tenants, clock),
    tenantHeader: options.tenantHeader.toLowerCase(),
    deviceWritesPerMinute: options.deviceWritesPerMinute,
    loginLimits: options.loginLimits ?? LOGIN_LIMITS,
    ...(options.metrics && { metrics: options.metrics }),
    telemetryFlipGate: options.telemetryFlipGate,
  };
  // What this instance holds of an area is stale once the area is served by the other store.
  router.onAreaMoved((move) => {
    if (move.stores.includes("devices")) ctx.devices.forgetAll();
    if (move.stores.includes("users")) ctx.sessions.forgetUsers();
    if (move.stores.includes("tenants")) ctx.tenantZones.clear();
    if (move.stores.includes("telemetry")) ctx.latestPoints.clear();
  });
  return ctx;
}
