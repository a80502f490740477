import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { auditRecorder } from "./audit/recorder.js";
import { registerAuditRoutes } from "./audit/routes.js";
import { requestGate } from "./auth/request-gate.js";
import { registerAuthRoutes } from "./auth/routes.js";
import { SESSION_COOKIE } from "./auth/session-cookie.js";
import { registerDeviceRoutes } from "./devices/routes.js";
import { registerFlagRoutes } from "./flags/routes.js";
import type { ServiceContext } from "./service.js";
import { registerTelemetryRoutes } from "./telemetry/routes.js";
import { TenantDirectory } from "./tenancy/tenant-directory.js";
import { registerUserRoutes } from "./users/routes.js";

/**
 * Registers the whole `/api` surface on an app from `buildApp`: cookies, the OpenAPI document,
 * `request.audit`, the request gate (tenant, credential, role) and every capability's routes.
 *
 * @example
 * const app = await buildApp({ logger, readiness });
 * await registerApi(app, createServiceContext({ router, flags, tenantHeader, cookieSecure: true, deviceWritesPerMinute: 5 }));
 */
export async function registerApi(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Firebrick API",
        version: "0.1.0",
        description: `Every /api request carries the tenant header \`${ctx.tenantHeader}\`.`,
      },
      components: {
        securitySchemes: {
          tenant: { type: "apiKey", in: "header", name: ctx.tenantHeader },
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
          device: { type: "http", scheme: "bearer", description: "a device token (telemetry writes only)" },
        },
      },
      security: [{ tenant: [], session: [] }],
    },
  });
  app.get("/api/openapi.json", { schema: { hide: true }, logLevel: "warn" }, async () => app.swagger());

  const tenants = new TenantDirectory(() => ctx.router.stores.tenants);
  await app.register(auditRecorder, {
    audit: () => ctx.router.stores.audit,
    clock: ctx.clock,
    tenantExists: (tenant) => tenants.exists(tenant),
  });
  await app.register(requestGate, {
    tenantHeader: ctx.tenantHeader,
    sessions: ctx.sessions,
    cookie: ctx.cookie,
    devices: ctx.devices,
  });
  registerAuthRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerDeviceRoutes(app, ctx);
  registerTelemetryRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerFlagRoutes(app, ctx);
}
