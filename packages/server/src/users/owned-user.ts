import type { FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import type { ServiceContext } from "../service.js";
import type { User } from "../stores/types.js";
import { refuseOtherTenant } from "../tenancy/cross-tenant.js";

/**
 * The tenant's user named in a path: another tenant's is a 403 and an audit entry, an unknown one a 404.
 *
 * @example
 * const user = await ownedUser(ctx, request, request.params.id);
 */
export async function ownedUser(
  ctx: Pick<ServiceContext, "router">,
  request: FastifyRequest,
  id: string,
): Promise<User> {
  const user = await ctx.router.stores.users.get(request.tenant, id);
  if (user) return user;
  if ((await ctx.router.stores.users.ownership(request.tenant, id)) === "other_tenant") {
    return refuseOtherTenant(request, "cross_tenant_resource", `user:${id}`);
  }
  throw new AppError("NOT_FOUND", "No such user.");
}
