import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { TimeZoneName } from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import { isTimeZone } from "../stores/rollups/time-zone.js";
import type { Tenant } from "../stores/types.js";

const PublicTenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  time_zone: Type.String({ description: "IANA time zone of the tenant's daily trend buckets" }),
});

function publicTenant(tenant: Tenant) {
  return { id: tenant.id, name: tenant.name, time_zone: tenant.time_zone };
}

/** `/api/tenant`: the caller's tenant (any role), and its settings (admin): the time zone of daily trends. */
export function registerTenantRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/api/tenant",
    {
      config: requires.anyRole,
      schema: {
        tags: ["tenant"],
        summary: "The caller's tenant and its settings",
        response: { 200: Type.Object({ tenant: PublicTenant }) },
      },
    },
    async (request) => {
      const tenant = await ctx.router.stores.tenants.get(request.tenant);
      if (!tenant) throw new AppError("NOT_FOUND", "No such tenant.");
      return { tenant: publicTenant(tenant) };
    },
  );

  api.patch(
    "/api/tenant",
    {
      config: requires.admin,
      schema: {
        tags: ["tenant"],
        summary: "Change the tenant's settings: the IANA time zone its daily trend buckets follow",
        body: Type.Object({ time_zone: TimeZoneName }, { additionalProperties: false }),
        response: { 200: Type.Object({ tenant: PublicTenant }) },
      },
    },
    async (request) => {
      const zone = request.body.time_zone;
      if (!isTimeZone(zone)) {
        throw new AppError("VALIDATION_FAILED", `time_zone ${JSON.stringify(zone)} is not an IANA time zone`);
      }
      const before = await ctx.router.stores.tenants.get(request.tenant);
      const tenant = await ctx.router.stores.tenants.setTimeZone(request.tenant, zone);
      if (!tenant) throw new AppError("NOT_FOUND", "No such tenant.");
      ctx.tenantZones.forget(request.tenant);
      await request.audit({
        action: "tenant.update",
        outcome: "success",
        target: `tenant:${request.tenant}`,
        details: { time_zone: { from: before?.time_zone ?? null, to: zone } },
      });
      return { tenant: publicTenant(tenant) };
    },
  );
}
