import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type {} from "../audit/recorder.js";
import { AppError } from "../errors.js";
import { type RouteSecurity, routeName } from "../http/route-security.js";
import type { ClientInfo, SessionManager } from "../sessions/manager.js";
import type { Device } from "../stores/types.js";
import { refuseOtherTenant } from "../tenancy/cross-tenant.js";
import { isTenantId } from "../tenancy/tenant-id.js";
import type {} from "./principal.js";
import { isCrossOrigin } from "./same-origin.js";
import type { SessionCookie } from "./session-cookie.js";

/** Paths under /api that anyone may read without a tenant (the API description). */
const TENANTLESS = new Set(["/api/openapi.json"]);

export interface RequestGateOptions {
  /** The tenant header's name, lower-cased as Node presents header names. */
  tenantHeader: string;
  sessions: SessionManager;
  cookie: SessionCookie;
  /** Authenticates a device by its bearer token (`devices/access.ts`). */
  devices: { authenticate(request: FastifyRequest, id: unknown, token: string): Promise<Device> };
}

/**
 * The request gate, in this order: the tenant header on every /api request (400), a state-changing
 * request from another origin (403, `same-origin.ts`), the credential the route asks for in its
 * `config.security` (401), the tenant of that credential (403 + audit), the caller's role (403 + audit). It sets `request.tenant` and `request.principal`.
 *
 * @example
 * await app.register(auditRecorder, { audit: () => router.stores.audit, clock, tenantExists });
 * await app.register(requestGate, { tenantHeader, sessions, cookie, devices });
 */
export const requestGate = fp(
  async (app: FastifyInstance, options: RequestGateOptions) => {
    app.decorateRequest("tenant", "");
    app.decorateRequest("principal", null);

    app.addHook("onRequest", async (request, reply) => {
      // The matched route decides, with the raw path as a fallback for unmatched (404) /api requests.
      // (Fastify builds `routeOptions` anew on every access: read once.)
      const route = request.routeOptions;
      const path = route.url ?? request.url.split("?", 1)[0]!;
      if (!(path === "/api" || path.startsWith("/api/")) || TENANTLESS.has(path)) return;
      const header = request.headers[options.tenantHeader];
      if (header === undefined) throw new AppError("TENANT_REQUIRED");
      if (!isTenantId(header)) {
        throw new AppError(
          "TENANT_REQUIRED",
          "The tenant header must name one tenant (letters, digits, _ or -).",
        );
      }
      request.tenant = header;

      const security = route.config.security as RouteSecurity | undefined;
      const bearer = bearerToken(request);
      const byDevice = security?.auth === "session_or_device" && bearer !== null;
      // A device's bearer token is no ambient credential a page could ride on; a cookie (or a sign-in) is.
      if (!byDevice && isCrossOrigin(request)) {
        throw new AppError("FORBIDDEN", "Cross-origin requests are refused.");
      }
      if (!security || security.auth === "public") return;

      if (byDevice) {
        const id = (request.params as { id?: unknown }).id;
        request.principal = {
          kind: "device",
          device: await options.devices.authenticate(request, id, bearer!),
        };
        return;
      }
      const token = options.cookie.read(request);
      if (!token) throw new AppError("UNAUTHENTICATED");
      const client = clientInfo(request);
      const resolution = await options.sessions.resolve(request.tenant, token, client);
      switch (resolution.status) {
        case "missing":
          options.cookie.clear(reply);
          // Budgeted per client address (audit/recorder.ts), so that junk cookies cannot flood the log.
          await request.audit({
            action: "session.rejected",
            outcome: "denied",
            details: { reason: "unknown, expired or revoked session", route: routeName(request) },
            unauthenticated: true,
          });
          throw new AppError("UNAUTHENTICATED", "The session has expired or was revoked; sign in again.");
        case "other_tenant":
          return refuseOtherTenant(request, "session_tenant_mismatch");
        case "fingerprint_mismatch":
          options.cookie.clear(reply);
          await request.audit({
            action: "session.fingerprint_mismatch",
            outcome: "denied",
            userId: resolution.session.user_id,
            target: `user:${resolution.session.user_id}`,
            details: { expected: resolution.session.fingerprint, reason: "session revoked" },
          });
          throw new AppError("UNAUTHENTICATED", "The session was revoked; sign in again.");
        case "ok":
          break;
      }
      request.principal = { kind: "session", user: resolution.user, session: resolution.session };
      if (security.roles && !security.roles.includes(resolution.user.role)) {
        await request.audit({
          action: "authz.denied",
          outcome: "denied",
          details: { role: resolution.user.role, route: routeName(request) },
        });
        throw new AppError("FORBIDDEN");
      }
    });
  },
  { name: "firebrick-request-gate", fastify: "5.x", dependencies: ["@fastify/cookie", "firebrick-audit"] },
);

/** The client's user agent and address (behind `FIREBRICK_TRUST_PROXY`), for fingerprints and limits. */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers["user-agent"];
  return { userAgent: typeof userAgent === "string" ? userAgent : null, ip: request.ip ?? null };
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header.trim());
  return match ? match[1]! : null;
}
