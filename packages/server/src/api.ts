import cookie from "@fastify/cookie";
import type { FastifyInstance } from "fastify";
import { registerAlarmRoutes } from "./alarms/routes.js";
import { auditRecorder } from "./audit/recorder.js";
import { registerAuditRoutes } from "./audit/routes.js";
import { requestGate } from "./auth/request-gate.js";
import { registerAuthRoutes } from "./auth/routes.js";
import { SESSION_COOKIE } from "./auth/session-cookie.js";
import { registerDeviceDefinitionRoutes } from "./devices/definition-routes.js";
import { registerDeviceRoutes } from "./devices/routes.js";
import { registerFlagRoutes } from "./flags/routes.js";
import { describeApi } from "./http/openapi.js";
import type { ServiceContext } from "./service.js";
import { registerSessionRoutes } from "./sessions/routes.js";
import { registerTelemetryRoutes } from "./telemetry/routes.js";
import { registerTenantRoutes } from "./tenancy/routes.js";
import { registerTrendRoutes } from "./trends/routes.js";
import { registerUserRoutes } from "./users/routes.js";
import { registerWebhookRoutes } from "./webhooks/routes.js";

/** What each tag of the API's operations is about (a route's `tags` must name one of these). */
const API_TAGS: Record<string, string> = {
  auth: "Signing in and out, the signed-in user, their sessions and password",
  users: "The tenant's users and their roles (admin)",
  devices: "The tenant's devices, their bearer tokens, locations, point definitions and connectivity",
  telemetry: "Readings written by devices and read back: latest first, by time window, as trends, as CSV",
  tenant: "The caller's tenant and its settings (the time zone of daily trend buckets)",
  audit: "The tenant's audit log (admin)",
  alarms: "Alarm rules (admin) and the alarms they raise: active, acknowledged, cleared",
  webhooks: "Signed webhooks for alarm transitions, their secrets and delivery log (admin)",
  admin: "Routing flags: which store (SQLite or Firestore) each area uses (read-only for tenant admins)",
};

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
  describeApi(app, {
    description: `Every /api request carries the tenant header \`${ctx.tenantHeader}\`; errors are always the \`Error\` envelope with a stable code.`,
    securitySchemes: {
      tenant: { type: "apiKey", in: "header", name: ctx.tenantHeader, description: "the tenant's id" },
      session: {
        type: "apiKey",
        in: "cookie",
        name: SESSION_COOKIE,
        description: "the session cookie set by POST /api/auth/login",
      },
      device: { type: "http", scheme: "bearer", description: "a device token (telemetry writes only)" },
    },
    tags: API_TAGS,
  });
  // The document itself, readable without a tenant: the one /api route it does not list.
  app.get("/api/openapi.json", { schema: { hide: true }, logLevel: "warn" }, async () => app.swagger());

  await app.register(auditRecorder, {
    audit: () => ctx.router.stores.audit,
    clock: ctx.clock,
    tenantExists: (tenant) => ctx.tenants.exists(tenant),
    limits: ctx.limits,
  });
  await app.register(requestGate, {
    tenantHeader: ctx.tenantHeader,
    sessions: ctx.sessions,
    cookie: ctx.cookie,
    devices: ctx.devices,
  });
  registerAuthRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerDeviceRoutes(app, ctx);
  registerDeviceDefinitionRoutes(app, ctx);
  registerTelemetryRoutes(app, ctx);
  registerTrendRoutes(app, ctx);
  registerTenantRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerFlagRoutes(app, ctx);
  registerAlarmRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
}
