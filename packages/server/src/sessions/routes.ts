import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { requires } from "../http/route-security.js";
import { IdParams } from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import { ownedUser } from "../users/owned-user.js";
import { PublicSession, publicSession, SessionRef, sessionRef } from "./public-session.js";

const Revoked = {
  200: Type.Object({ revoked: Type.Boolean({ description: "false: no such session (any more)" }) }),
};

/**
 * Sessions seen from outside the one making the request (docs/design/sessions.md): an admin lists and ends
 * a user's sessions (`/api/users/:id/sessions`), and every user ends one of their own
 * (`DELETE /api/auth/sessions/:session_id`; listing them and ending all is `/api/auth/sessions`). Ending a
 * session is idempotent: one already gone answers `revoked: false`. Every revocation is audited.
 */
export function registerSessionRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Ends the user's session named by its reference; the caller's own loses its cookie too. */
  async function revokeOne(request: FastifyRequest, reply: FastifyReply, userId: string, ref: string) {
    const caller = sessionOf(request);
    const sessions = await ctx.router.stores.sessions.listByUser(request.tenant, userId);
    const session = sessions.find((candidate) => sessionRef(candidate) === ref);
    if (!session) return { revoked: false };
    await ctx.sessions.revoke(request.tenant, session.id);
    if (session.id === caller.session.id) ctx.cookie.clear(reply);
    await request.audit({
      action: "session.revoke",
      outcome: "success",
      target: `user:${userId}`,
      details: { session: ref },
    });
    return { revoked: true };
  }

  api.get(
    "/api/users/:id/sessions",
    {
      config: requires.admin,
      schema: {
        tags: ["users"],
        summary: "A user's sessions: when each began and was last used, from which client",
        params: IdParams,
        response: { 200: Type.Object({ sessions: Type.Array(PublicSession) }) },
      },
    },
    async (request) => {
      const user = await ownedUser(ctx, request, request.params.id);
      const sessions = await ctx.router.stores.sessions.listByUser(request.tenant, user.id);
      const current = sessionOf(request).session.id;
      return { sessions: sessions.map((session) => publicSession(session, current)) };
    },
  );

  api.delete(
    "/api/users/:id/sessions",
    {
      config: requires.admin,
      schema: {
        tags: ["users"],
        summary: "Sign a user out everywhere (every session of theirs)",
        params: IdParams,
        response: { 200: Type.Object({ revoked: Type.Integer({ description: "sessions ended" }) }) },
      },
    },
    async (request, reply) => {
      const user = await ownedUser(ctx, request, request.params.id);
      const revoked = await ctx.sessions.revokeAllForUser(request.tenant, user.id);
      if (user.id === sessionOf(request).user.id) ctx.cookie.clear(reply);
      await request.audit({
        action: "session.revoke_all",
        outcome: "success",
        target: `user:${user.id}`,
        details: { revoked },
      });
      return { revoked };
    },
  );

  api.delete(
    "/api/users/:id/sessions/:session_id",
    {
      config: requires.admin,
      schema: {
        tags: ["users"],
        summary: "End one of a user's sessions",
        params: Type.Object(
          { id: IdParams.properties.id, session_id: SessionRef },
          { additionalProperties: false },
        ),
        response: Revoked,
      },
    },
    async (request, reply) => {
      const user = await ownedUser(ctx, request, request.params.id);
      return revokeOne(request, reply, user.id, request.params.session_id);
    },
  );

  api.delete(
    "/api/auth/sessions/:session_id",
    {
      config: requires.anyRole,
      schema: {
        tags: ["auth"],
        summary: "End one of the signed-in user's sessions (this one signs out)",
        params: Type.Object({ session_id: SessionRef }, { additionalProperties: false }),
        response: Revoked,
      },
    },
    async (request, reply) =>
      revokeOne(request, reply, sessionOf(request).user.id, request.params.session_id),
  );
}
