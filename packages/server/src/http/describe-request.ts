import type { FastifyRequest } from "fastify";

/** What a request's log line says about it once the security gate has run (tenant, device, user). */
export function describeRequest(request: FastifyRequest) {
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
