import type { FastifyRequest } from "fastify";
import type {} from "../audit/recorder.js";
import { AppError } from "../errors.js";
import { routeName } from "../http/route-security.js";

/**
 * The answer to anything of another tenant (docs/design/tenancy.md): a 403 `TENANT_MISMATCH`, with a
 * `tenant.violation` audit entry in the tenant of the request, never a hint of what the other tenant has.
 *
 * @example
 * if ((await stores.users.ownership(request.tenant, id)) === "other_tenant") {
 *   return refuseOtherTenant(request, "cross_tenant_resource", `user:${id}`);
 * }
 */
export async function refuseOtherTenant(
  request: FastifyRequest,
  reason: "cross_tenant_resource" | "session_tenant_mismatch" | "device_tenant_mismatch",
  target: string | null = null,
): Promise<never> {
  await request.audit({
    action: "tenant.violation",
    outcome: "denied",
    target,
    details: { reason, route: routeName(request) },
    // A device id under another tenant's header is refused before its token is checked: anyone can.
    unauthenticated: reason === "device_tenant_mismatch",
  });
  throw new AppError("TENANT_MISMATCH");
}
