import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { recordAudit } from "../audit/recorder.js";
import { AppError } from "../errors.js";
import { AnyPassword, NewPassword, PublicUser, publicUser, Username } from "../http/schemas.js";
import { ANY_ROLE, SESSION_COOKIE, type ServiceContext } from "../service.js";
import { tokenHash } from "../sessions/tokens.js";
import type { User } from "../stores/types.js";
import { FailureLimiter } from "./failure-limiter.js";
import { clientInfo } from "./request-gate.js";
import { clearSessionCookie, setSessionCookie } from "./session-cookie.js";

export interface LoginLimits {
  /** Failed logins per tenant+username in `windowMs`. */
  perUsername: number;
  /** Failed logins per client IP in `windowMs`, whatever the username. */
  perIp: number;
  windowMs: number;
}

export const LOGIN_LIMITS: LoginLimits = { perUsername: 5, perIp: 20, windowMs: 15 * 60_000 };

/** `/api/auth/*`: login, logout, me, own sessions, password change. */
export function registerAuthRoutes(app: FastifyInstance, ctx: ServiceContext, limits = LOGIN_LIMITS): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const byUsername = new FailureLimiter({
    limit: limits.perUsername,
    windowMs: limits.windowMs,
    clock: ctx.clock,
  });
  const byIp = new FailureLimiter({ limit: limits.perIp, windowMs: limits.windowMs, clock: ctx.clock });
  const session = { security: { auth: "session" as const, roles: ANY_ROLE } };

  /** Refuses with 429 while either counter is over its limit, before any hashing is spent. */
  function enforceLimits(keys: { user: string; ip: string }) {
    const userWait = byUsername.retryAfterMs(keys.user);
    const ipWait = byIp.retryAfterMs(keys.ip);
    const wait = Math.max(userWait, ipWait);
    if (wait > 0) {
      ctx.metrics?.rateLimitRejections.inc({ limiter: userWait >= ipWait ? "login_user" : "login_ip" });
      throw new AppError("RATE_LIMITED", "Too many failed sign-in attempts; retry later.", {
        headers: { "retry-after": String(Math.ceil(wait / 1000)) },
      });
    }
  }

  /** Verifies a user's password, re-hashing a legacy or outdated hash on success. */
  async function verifyPassword(request: FastifyRequest, user: User | null, password: string) {
    if (!user) {
      await ctx.passwords.burn(password);
      return { ok: false as const, reason: "unknown_user" };
    }
    const check = await ctx.passwords.check(user, password);
    if (check === "mismatch") return { ok: false as const, reason: "wrong_password" };
    if (check === "refused") return { ok: false as const, reason: "password_reset_required" };
    if (check === "ok_rehash") {
      const stored = await ctx.passwords.hash(password);
      await ctx.router.stores.users.updatePassword(user.tenant_id, user.id, stored);
      request.log.info({ tenant_id: user.tenant_id, user_id: user.id }, "password re-hashed");
    }
    return { ok: true as const };
  }

  api.post(
    "/api/auth/login",
    {
      config: { security: { auth: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Sign in; sets the session cookie",
        security: [{ tenant: [] }],
        body: Type.Object({ username: Username, password: AnyPassword }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: PublicUser, expires_at: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const tenant = request.tenant;
      const keys = { user: `${tenant}\u0000${username.toLowerCase()}`, ip: request.ip };
      enforceLimits(keys);
      // Counted as a failure up front and forgiven on success, so that a burst of concurrent guesses
      // is limited too, not only guesses that arrive after earlier ones have finished hashing.
      byUsername.fail(keys.user);
      byIp.fail(keys.ip);
      const user = await ctx.router.stores.users.getByUsername(tenant, username);
      const verdict = await verifyPassword(request, user, password);
      if (!verdict.ok) {
        await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
          action: "auth.login_failed",
          outcome: "failure",
          userId: user?.id ?? null,
          target: user ? `user:${user.id}` : null,
          details: { reason: verdict.reason },
        });
        throw new AppError("INVALID_CREDENTIALS");
      }
      byUsername.reset(keys.user);
      byIp.forgive(keys.ip);
      // A new session id at every login: a session planted before sign-in (fixation) dies here.
      const previous = request.cookies[SESSION_COOKIE];
      if (previous) await ctx.sessions.revoke(tenant, tokenHash(previous)).catch(() => undefined);
      const started = await ctx.sessions.start(tenant, user!.id, clientInfo(request));
      setSessionCookie(ctx, reply, started.token);
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "auth.login",
        outcome: "success",
        userId: user!.id,
        target: `user:${user!.id}`,
      });
      return { user: publicUser(user!), expires_at: started.session.expires_at };
    },
  );

  api.post(
    "/api/auth/logout",
    { config: session, schema: { tags: ["auth"], summary: "Sign out of this session" } },
    async (request, reply) => {
      const principal = sessionOf(request);
      await ctx.sessions.revoke(request.tenant, principal.session.id);
      clearSessionCookie(ctx, reply);
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "auth.logout",
        outcome: "success",
      });
      return { signed_out: true };
    },
  );

  api.get(
    "/api/auth/me",
    {
      config: session,
      schema: {
        tags: ["auth"],
        summary: "The signed-in user",
        response: {
          200: Type.Object({
            user: PublicUser,
            session: Type.Object({ created_at: Type.Integer(), expires_at: Type.Integer() }),
          }),
        },
      },
    },
    async (request) => {
      const { user, session: current } = sessionOf(request);
      return {
        user: publicUser(user),
        session: { created_at: current.created_at, expires_at: current.expires_at },
      };
    },
  );

  api.get(
    "/api/auth/sessions",
    {
      config: session,
      schema: {
        tags: ["auth"],
        summary: "The signed-in user's sessions",
        response: {
          200: Type.Object({
            sessions: Type.Array(
              Type.Object({
                id: Type.String({ description: "a prefix of the stored session id (not the token)" }),
                current: Type.Boolean(),
                created_at: Type.Integer(),
                last_seen_at: Type.Integer(),
                expires_at: Type.Integer(),
                user_agent: Type.Union([Type.String(), Type.Null()]),
                ip: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { user, session: current } = sessionOf(request);
      const sessions = await ctx.router.stores.sessions.listByUser(request.tenant, user.id);
      return {
        sessions: sessions.map((s) => ({
          id: s.id.slice(0, 16),
          current: s.id === current.id,
          created_at: s.created_at,
          last_seen_at: s.last_seen_at,
          expires_at: s.expires_at,
          user_agent: s.user_agent,
          ip: s.ip,
        })),
      };
    },
  );

  api.delete(
    "/api/auth/sessions",
    {
      config: session,
      schema: { tags: ["auth"], summary: "Sign out everywhere (every session of this user)" },
    },
    async (request, reply) => {
      const { user } = sessionOf(request);
      const revoked = await ctx.sessions.revokeAllForUser(request.tenant, user.id);
      clearSessionCookie(ctx, reply);
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "auth.logout_everywhere",
        outcome: "success",
        details: { revoked },
      });
      return { revoked };
    },
  );

  api.post(
    "/api/auth/password",
    {
      config: session,
      schema: {
        tags: ["auth"],
        summary: "Change the signed-in user's password; every other session is revoked",
        body: Type.Object(
          { current_password: AnyPassword, new_password: NewPassword },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { user } = sessionOf(request);
      const keys = { user: `${request.tenant}\u0000${user.username.toLowerCase()}`, ip: request.ip };
      enforceLimits(keys);
      byUsername.fail(keys.user);
      byIp.fail(keys.ip);
      const verdict = await verifyPassword(request, user, request.body.current_password);
      if (!verdict.ok) {
        await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
          action: "auth.password_change_failed",
          outcome: "failure",
          target: `user:${user.id}`,
        });
        throw new AppError("INVALID_CREDENTIALS", "The current password is wrong.");
      }
      byUsername.forgive(keys.user);
      byIp.forgive(keys.ip);
      const stored = await ctx.passwords.hash(request.body.new_password);
      await ctx.router.stores.users.updatePassword(request.tenant, user.id, stored);
      await rotate(ctx, request, reply, user.id);
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "auth.password_changed",
        outcome: "success",
        target: `user:${user.id}`,
      });
      return { changed: true };
    },
  );
}

/**
 * A privilege change (role, password) ends every session of the user; if the user is the caller, they
 * get a new session in the same response so that they stay signed in.
 */
export async function rotate(
  ctx: ServiceContext,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
): Promise<void> {
  await ctx.sessions.revokeAllForUser(request.tenant, userId);
  const principal = request.principal;
  if (principal?.kind === "session" && principal.user.id === userId) {
    const started = await ctx.sessions.start(request.tenant, userId, clientInfo(request));
    setSessionCookie(ctx, reply, started.token);
  }
}

export function sessionOf(request: FastifyRequest) {
  const principal = request.principal;
  if (principal?.kind !== "session") throw new AppError("UNAUTHENTICATED");
  return principal;
}
