import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { requires } from "../http/route-security.js";
import { Cursor, NextCursor, PageLimit } from "../http/schemas.js";
import type { ServiceContext } from "../service.js";

/** `GET /api/audit`: the tenant's audit log, newest first (admin). */
export function registerAuditRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/api/audit",
    {
      config: requires.admin,
      schema: {
        tags: ["audit"],
        summary: "Query the audit log by user and/or action, newest first",
        querystring: Type.Object(
          {
            user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z_.]+$" })),
            limit: Type.Optional(PageLimit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            entries: Type.Array(
              Type.Object({
                id: Type.String(),
                action: Type.String(),
                user_id: Type.Union([Type.String(), Type.Null()]),
                timestamp_ms: Type.Integer(),
                outcome: Type.String(),
                target: Type.Union([Type.String(), Type.Null()]),
                ip: Type.Union([Type.String(), Type.Null()]),
                user_agent: Type.Union([Type.String(), Type.Null()]),
                details: Type.Object({}, { additionalProperties: true }),
                source: Type.String(),
              }),
            ),
            next_cursor: NextCursor,
          }),
        },
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
