import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { ADMIN, type ServiceContext } from "../http/context.js";
import { Cursor } from "../http/schemas.js";

/** `GET /api/audit`: the tenant's audit log, newest first (admin). */
export function registerAuditRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/api/audit",
    {
      config: { security: { auth: "session", roles: ADMIN } },
      schema: {
        tags: ["audit"],
        summary: "Query the audit log by user and/or action, newest first",
        querystring: Type.Object(
          {
            user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z_.]+$" })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { user_id, action, limit = 100, cursor } = request.query;
      const page = await ctx.router.stores.audit.query(request.tenant, {
        ...(user_id !== undefined && { user_id }),
        ...(action !== undefined && { action }),
        limit,
        cursor: cursor ?? null,
      });
      return {
        entries: page.items.map(({ tenant_id: _tenant, ...entry }) => entry),
        next_cursor: page.next_cursor,
      };
    },
  );
}
