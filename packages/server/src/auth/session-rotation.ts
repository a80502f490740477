import type { FastifyReply, FastifyRequest } from "fastify";
import type { SessionManager } from "../sessions/manager.js";
import type {} from "./principal.js";
import { clientInfo } from "./request-gate.js";
import type { SessionCookie } from "./session-cookie.js";

/**
 * A privilege change (role, password) ends every session of the user (docs/design/sessions.md); if the
 * user is the caller, they get a new session in the same response so that they stay signed in.
 *
 * @example
 * await ctx.router.stores.users.updateRole(tenant, id, "viewer");
 * await rotateUserSessions(ctx, request, reply, id);
 */
export async function rotateUserSessions(
  service: { sessions: SessionManager; cookie: SessionCookie },
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
): Promise<void> {
  await service.sessions.revokeAllForUser(request.tenant, userId);
  const principal = request.principal;
  if (principal?.kind === "session" && principal.user.id === userId) {
    const started = await service.sessions.start(request.tenant, userId, clientInfo(request));
    service.cookie.set(reply, started.token);
  }
}
