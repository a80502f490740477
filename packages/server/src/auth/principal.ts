import type { FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import type { RequestFields } from "../observability/request-context.js";
import type { Device, Session, User } from "../stores/types.js";

/** Who is calling: a signed-in user (session cookie) or a device (bearer token). */
export type Principal =
  | { kind: "session"; user: User; session: Session }
  | { kind: "device"; device: Device };

declare module "fastify" {
  interface FastifyRequest {
    /** The tenant named by the tenant header (every /api request has one); set by the request gate. */
    tenant: string;
    /** Who the request gate let in; null on public routes and outside /api. */
    principal: Principal | null;
  }
}

/** The signed-in user of a session route; a 401 if the request has none (a device, or no gate). */
export function sessionOf(request: FastifyRequest) {
  const principal = request.principal;
  if (principal?.kind !== "session") throw new AppError("UNAUTHENTICATED");
  return principal;
}

/**
 * What a request's log line says about its caller once the gate has run: the tenant, the device (its
 * own token, or the one in a `/api/devices/:id…` URL) and the signed-in user.
 *
 * @example
 * registerObservability(app, { metrics, describeRequest: describeCaller });
 */
export function describeCaller(request: FastifyRequest): RequestFields {
  const principal = request.principal;
  const route = request.routeOptions.url ?? "";
  return {
    tenant_id: request.tenant || undefined,
    device_id:
      principal?.kind === "device"
        ? principal.device.id
        : route.startsWith("/api/devices/:id")
          ? (request.params as { id?: string }).id
          : undefined,
    user_id: principal?.kind === "session" ? principal.user.id : undefined,
  };
}
