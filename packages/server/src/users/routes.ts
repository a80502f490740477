import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { rotateUserSessions } from "../auth/session-rotation.js";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import {
  Cursor,
  IdParams,
  NewPassword,
  NextCursor,
  PageLimit,
  PublicUser,
  publicUser,
  RoleSchema,
  Username,
} from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import { ownedUser } from "./owned-user.js";

/** `/api/users`: the tenant's users (admin only). */
export function registerUserRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/api/users",
    {
      config: requires.admin,
      schema: {
        tags: ["users"],
        summary: "List the tenant's users",
        response: { 200: Type.Object({ users: Type.Array(PublicUser), next_cursor: NextCursor }) },
        querystring: Type.Object(
          {
            limit: Type.Optional(PageLimit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const page = await ctx.router.stores.users.list(request.tenant, {
        limit: request.query.limit ?? 100,
        cursor: request.query.cursor ?? null,
      });
      return { users: page.items.map(publicUser), next_cursor: page.next_cursor };
    },
  );

  api.post(
    "/api/users",
    {
      config: { ...requires.admin, errors: ["CONFLICT"] },
      schema: {
        tags: ["users"],
        summary: "Create a user",
        body: Type.Object(
          { username: Username, password: NewPassword, role: RoleSchema },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ user: PublicUser }) },
      },
    },
    async (request, reply) => {
      const stored = await ctx.passwords.hash(request.body.password);
      const user = await ctx.router.stores.users.create(request.tenant, {
        username: request.body.username,
        role: request.body.role,
        ...stored,
      });
      await request.audit({
        action: "user.create",
        outcome: "success",
        target: `user:${user.id}`,
        details: { role: user.role },
      });
      return reply.status(201).send({ user: publicUser(user) });
    },
  );

  api.patch(
    "/api/users/:id",
    {
      config: requires.admin,
      schema: {
        tags: ["users"],
        summary: "Change a user's role and/or password; the user's sessions are revoked",
        params: IdParams,
        body: Type.Object(
          { role: Type.Optional(RoleSchema), password: Type.Optional(NewPassword) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ user: PublicUser }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      let user = await ownedUser(ctx, request, id);
      const changed: string[] = [];
      if (request.body.role !== undefined && request.body.role !== user.role) {
        user = (await ctx.router.stores.users.updateRole(request.tenant, id, request.body.role)) ?? user;
        changed.push("role");
      }
      if (request.body.password !== undefined) {
        const stored = await ctx.passwords.hash(request.body.password);
        user = (await ctx.router.stores.users.updatePassword(request.tenant, id, stored)) ?? user;
        changed.push("password");
      }
      // A privilege change gets fresh session ids (docs/design/sessions.md).
      if (changed.length > 0) await rotateUserSessions(ctx, request, reply, id);
      await request.audit({
        action: "user.update",
        outcome: "success",
        target: `user:${id}`,
        details: { changed, ...(changed.includes("role") && { role: user.role }) },
      });
      return { user: publicUser(user) };
    },
  );

  api.delete(
    "/api/users/:id",
    {
      // CONFLICT: an admin cannot delete their own account.
      config: { ...requires.admin, errors: ["CONFLICT"] },
      schema: {
        tags: ["users"],
        summary: "Delete a user and end their sessions",
        params: IdParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const target = await ownedUser(ctx, request, id);
      if (target.id === sessionOf(request).user.id) {
        throw new AppError("CONFLICT", "You cannot delete your own account.");
      }
      await ctx.sessions.revokeAllForUser(request.tenant, id);
      await ctx.router.stores.users.delete(request.tenant, id);
      await request.audit({
        action: "user.delete",
        outcome: "success",
        target: `user:${id}`,
      });
      return { deleted: true };
    },
  );
}
