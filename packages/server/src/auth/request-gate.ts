import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { recordAudit } from "../audit/recorder.js";
import type { DeviceDirectory } from "../devices/directory.js";
import { AppError } from "../errors.js";
import { type Principal, type RouteSecurity, SESSION_COOKIE, type ServiceContext } from "../service.js";
import { tokenHash } from "../sessions/tokens.js";
import { isTenantId } from "../tenancy/tenant-id.js";
import { FailureLimiter } from "./failure-limiter.js";
import { clearSessionCookie } from "./session-cookie.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Paths under /api that anyone may read without a tenant (the API description). */
const TENANTLESS = new Set(["/api/openapi.json"]);

/**
 * The request gate, in this order: the tenant header on every /api request (400), the credential the
 * route asks for (401), the tenant of that credential (403 + audit), the caller's role (403 + audit).
 */
export function registerSecurity(app: FastifyInstance, ctx: ServiceContext, devices: DeviceDirectory): void {
  // A rejected session (replayed after logout, expired, forged) is audited, but at most 10 times a minute
  // per client address, so that junk cookies cannot be used to flood the audit log.
  const rejectedAudits = new FailureLimiter({ limit: 10, windowMs: 60_000, clock: ctx.clock });
  app.decorateRequest("tenant", "");
  app.decorateRequest("principal", null);

  app.addHook("onRequest", async (request, reply) => {
    // The matched route decides, with the raw path as a fallback for unmatched (404) /api requests.
    const path = request.routeOptions.url ?? request.url.split("?", 1)[0]!;
    if (!(path === "/api" || path.startsWith("/api/")) || TENANTLESS.has(path)) return;
    const header = request.headers[ctx.tenantHeader];
    if (header === undefined) throw new AppError("TENANT_REQUIRED");
    if (!isTenantId(header)) {
      throw new AppError(
        "TENANT_REQUIRED",
        "The tenant header must name one tenant (letters, digits, _ or -).",
      );
    }
    request.tenant = header;

    const security = request.routeOptions.config.security as RouteSecurity | undefined;
    if (!security || security.auth === "public") return;

    const bearer = bearerToken(request);
    if (security.auth === "session_or_device" && bearer !== null) {
      request.principal = await authenticateDevice(request, bearer);
      return;
    }
    const token = request.cookies[SESSION_COOKIE];
    if (!token) throw new AppError("UNAUTHENTICATED");
    const client = clientInfo(request);
    const resolution = await ctx.sessions.resolve(request.tenant, token, client);
    switch (resolution.status) {
      case "missing":
        clearSessionCookie(ctx, reply);
        if (rejectedAudits.retryAfterMs(client.ip ?? "") === 0) {
          rejectedAudits.fail(client.ip ?? "");
          await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
            action: "session.rejected",
            outcome: "denied",
            details: { reason: "unknown, expired or revoked session", route: routeName(request) },
          });
        }
        throw new AppError("UNAUTHENTICATED", "The session has expired or was revoked; sign in again.");
      case "other_tenant":
        await violation(request, "session_tenant_mismatch");
        throw new AppError("TENANT_MISMATCH");
      case "fingerprint_mismatch":
        clearSessionCookie(ctx, reply);
        await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
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
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "authz.denied",
        outcome: "denied",
        details: { role: resolution.user.role, route: routeName(request) },
      });
      throw new AppError("FORBIDDEN");
    }
  });

  async function authenticateDevice(request: FastifyRequest, bearer: string): Promise<Principal> {
    const id = (request.params as { id?: unknown }).id;
    if (typeof id !== "string" || !UUID.test(id)) throw new AppError("UNAUTHENTICATED");
    const device = await devices.get(request.tenant, id);
    if (!device) {
      if ((await ctx.router.stores.devices.ownership(request.tenant, id)) === "other_tenant") {
        await violation(request, "device_tenant_mismatch", `device:${id}`);
        throw new AppError("TENANT_MISMATCH");
      }
      throw new AppError("UNAUTHENTICATED", "The device token is not valid.");
    }
    const presented = Buffer.from(tokenHash(bearer), "hex");
    const expected = Buffer.from(device.token_hash, "hex");
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new AppError("UNAUTHENTICATED", "The device token is not valid.");
    }
    return { kind: "device", device };
  }

  async function violation(request: FastifyRequest, reason: string, target: string | null = null) {
    await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
      action: "tenant.violation",
      outcome: "denied",
      target,
      details: { reason, route: routeName(request) },
    });
  }
}

/**
 * The 403 for a resource of another tenant (SPEC.md §5), with its audit entry. Route handlers call it
 * when an ownership check says `other_tenant`.
 */
export async function denyCrossTenant(
  ctx: ServiceContext,
  request: FastifyRequest,
  target: string,
): Promise<never> {
  await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
    action: "tenant.violation",
    outcome: "denied",
    target,
    details: { reason: "cross_tenant_resource", route: routeName(request) },
  });
  throw new AppError("TENANT_MISMATCH");
}

export function clientInfo(request: FastifyRequest): { userAgent: string | null; ip: string | null } {
  const userAgent = request.headers["user-agent"];
  return { userAgent: typeof userAgent === "string" ? userAgent : null, ip: request.ip ?? null };
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header.trim());
  return match ? match[1]! : null;
}

function routeName(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? "?"}`;
}
