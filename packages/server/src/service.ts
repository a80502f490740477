import type { PasswordHasher } from "./auth/passwords.js";
import type { TelemetryFlipGate } from "./migrate/cutover.js";
import type { Metrics } from "./observability/metrics.js";
import type { SessionManager } from "./sessions/manager.js";
import type { FlagsState } from "./stores/routing/flags.js";
import type { StoreRouter } from "./stores/routing/router.js";
import type { Clock, Device, Role, Session, User } from "./stores/types.js";

/** Who is calling: a signed-in user (session cookie) or a device (bearer token). */
export type Principal =
  | { kind: "session"; user: User; session: Session }
  | { kind: "device"; device: Device };

/**
 * How a route authenticates, declared in its `config`:
 * - `public`: nobody needs to be signed in (login);
 * - `session`: a session cookie, and one of `roles` if given;
 * - `session_or_device`: the device's own bearer token, or a session with one of `roles`.
 */
export interface RouteSecurity {
  auth: "public" | "session" | "session_or_device";
  roles?: readonly Role[];
}

export const ANY_ROLE: readonly Role[] = ["admin", "operator", "viewer"];
export const WRITERS: readonly Role[] = ["admin", "operator"];
export const ADMIN: readonly Role[] = ["admin"];

declare module "fastify" {
  interface FastifyRequest {
    /** The tenant named by the tenant header (every /api request has one). */
    tenant: string;
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    security?: RouteSecurity;
  }
}

/** Everything the API routes use. Stores are reached only through `router.stores`. */
export interface ServiceContext {
  router: StoreRouter;
  flags: FlagsState;
  clock: Clock;
  passwords: PasswordHasher;
  sessions: SessionManager;
  tenantHeader: string;
  cookieSecure: boolean;
  deviceWritesPerMinute: number;
  sessionCookieMaxAgeMs: number;
  metrics?: Metrics;
  /** Blocks the telemetry read flip at the end of a dual-write window; absent without Firestore. */
  telemetryFlipGate: TelemetryFlipGate | undefined;
}

export const SESSION_COOKIE = "firebrick_session";
