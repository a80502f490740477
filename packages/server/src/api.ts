import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { registerAuditRoutes } from "./audit/routes.js";
import { createPasswordHasher, type PasswordHasher } from "./auth/passwords.js";
import { registerSecurity } from "./auth/request-gate.js";
import { LOGIN_LIMITS, type LoginLimits, registerAuthRoutes } from "./auth/routes.js";
import { DeviceDirectory } from "./devices/directory.js";
import { registerDeviceRoutes } from "./devices/routes.js";
import { registerFlagRoutes } from "./flags/routes.js";
import type { TelemetryFlipGate } from "./migrate/cutover.js";
import type { Metrics } from "./observability/metrics.js";
import { SESSION_COOKIE, type ServiceContext } from "./service.js";
import { createSessionManager, SESSION_POLICY, type SessionPolicy } from "./sessions/manager.js";
import type { FlagsState } from "./stores/routing/flags.js";
import type { StoreRouter } from "./stores/routing/router.js";
import type { Clock } from "./stores/types.js";
import { registerTelemetryRoutes } from "./telemetry/routes.js";
import { registerUserRoutes } from "./users/routes.js";

export interface ApiOptions {
  router: StoreRouter;
  flags: FlagsState;
  tenantHeader: string;
  cookieSecure: boolean;
  deviceWritesPerMinute: number;
  clock?: Clock;
  /** Production: Argon2id at SPEC.md §5's cost. Tests pass a cheaper hasher. */
  passwords?: PasswordHasher;
  sessionPolicy?: SessionPolicy;
  loginLimits?: LoginLimits;
  /** Budget and rate-limit rejections are counted here when given. */
  metrics?: Metrics;
  telemetryFlipGate?: TelemetryFlipGate;
}

/**
 * Registers the whole `/api` surface on an app from `buildApp`: cookies, the OpenAPI document, the
 * request gate (tenant, credential, role) and every capability's routes.
 *
 * @example
 * const app = await buildApp({ logger, readiness });
 * await registerApi(app, { router, flags, tenantHeader: config.tenantHeader, cookieSecure: true, deviceWritesPerMinute: 5 });
 */
export async function registerApi(app: FastifyInstance, options: ApiOptions): Promise<ServiceContext> {
  const clock = options.clock ?? Date.now;
  const policy = options.sessionPolicy ?? SESSION_POLICY;
  const { stores } = options.router;
  const ctx: ServiceContext = {
    router: options.router,
    flags: options.flags,
    clock,
    passwords: options.passwords ?? createPasswordHasher(),
    sessions: createSessionManager({
      sessions: () => stores.sessions,
      users: () => stores.users,
      clock,
      policy,
    }),
    tenantHeader: options.tenantHeader.toLowerCase(),
    cookieSecure: options.cookieSecure,
    deviceWritesPerMinute: options.deviceWritesPerMinute,
    sessionCookieMaxAgeMs: policy.absoluteTimeoutMs,
    ...(options.metrics && { metrics: options.metrics }),
    telemetryFlipGate: options.telemetryFlipGate,
  };

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Firebrick API",
        version: "0.1.0",
        description: `Every /api request carries the tenant header \`${options.tenantHeader}\`.`,
      },
      components: {
        securitySchemes: {
          tenant: { type: "apiKey", in: "header", name: options.tenantHeader },
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
          device: { type: "http", scheme: "bearer", description: "a device token (telemetry writes only)" },
        },
      },
      security: [{ tenant: [], session: [] }],
    },
  });
  app.get("/api/openapi.json", { schema: { hide: true }, logLevel: "warn" }, async () => app.swagger());

  const directory = new DeviceDirectory(() => stores.devices, clock);
  registerSecurity(app, ctx, directory);
  registerAuthRoutes(app, ctx, options.loginLimits ?? LOGIN_LIMITS);
  registerUserRoutes(app, ctx);
  registerDeviceRoutes(app, ctx, directory);
  registerTelemetryRoutes(app, ctx, directory);
  registerAuditRoutes(app, ctx);
  registerFlagRoutes(app, ctx, directory);
  return ctx;
}
