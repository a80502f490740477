import type { FastifyRequest } from "fastify";
import type { ErrorCode } from "../errors.js";
import { ROLES, type Role } from "../stores/types.js";

/**
 * How a route authenticates, declared in its `config` and enforced by the request gate
 * (`auth/request-gate.ts`):
 * - `public`: nobody needs to be signed in (login);
 * - `session`: a session cookie, and one of `roles` if given;
 * - `session_or_device`: the device's own bearer token, or a session with one of `roles`.
 */
export interface RouteSecurity {
  auth: "public" | "session" | "session_or_device";
  roles?: readonly Role[];
}

declare module "fastify" {
  interface FastifyContextConfig {
    security?: RouteSecurity;
    /**
     * Error codes the handler returns itself (a conflict, a rate limit), for the OpenAPI document; those
     * that `security` and the schemas imply are derived (`http/openapi.ts`).
     */
    errors?: readonly ErrorCode[];
  }
}

export const ANY_ROLE: readonly Role[] = ROLES;
export const WRITERS: readonly Role[] = ["admin", "operator"];
export const ADMIN: readonly Role[] = ["admin"];

/**
 * The route `config` of the usual cases, so that a route says who may call it in one word.
 *
 * @example
 * app.get("/api/audit", { config: requires.admin, schema }, handler);
 */
export const requires = {
  nothing: { security: { auth: "public" } },
  anyRole: { security: { auth: "session", roles: ANY_ROLE } },
  admin: { security: { auth: "session", roles: ADMIN } },
  /** Operators' and admins' actions that are not telemetry writes (acknowledging an alarm). */
  writer: { security: { auth: "session", roles: WRITERS } },
  /** Telemetry writes: the device's own token, or a session of a writer. */
  deviceOrWriter: { security: { auth: "session_or_device", roles: WRITERS } },
} as const satisfies Record<string, { security: RouteSecurity }>;

/** The route a request matched, as `METHOD /pattern` (`?` when none matched), for audit details. */
export function routeName(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? "?"}`;
}
