import { setTimeout as sleep } from "node:timers/promises";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { AnyPassword, NewPassword, PublicUser, publicUser, Username } from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import { PublicSession, publicSession } from "../sessions/public-session.js";
import { tokenHash } from "../sessions/tokens.js";
import type { User } from "../stores/types.js";
import { SignInLimits } from "./login-limits.js";
import { sessionOf } from "./principal.js";
import { clientInfo } from "./request-gate.js";
import { rotateUserSessions } from "./session-rotation.js";

/** `/api/auth/*`: login, logout, me, own sessions, password change. */
export function registerAuthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // Fleet-wide (docs/design/fleet.md): a budget per (username, address) and per address, a slow-down per username.
  const limits = new SignInLimits(ctx.limits, ctx.loginLimits, (limiter) =>
    ctx.metrics?.rateLimitRejections.inc({ limiter }),
  );

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
      // Best effort: a busy hashing queue or store must not fail a correct sign-in; the next one re-hashes.
      try {
        const stored = await ctx.passwords.hash(password);
        await ctx.router.stores.users.updatePassword(user.tenant_id, user.id, stored);
        request.log.info({ tenant_id: user.tenant_id, user_id: user.id }, "password re-hashed");
      } catch (error) {
        request.log.warn({ err: error, tenant_id: user.tenant_id, user_id: user.id }, "re-hash deferred");
      }
    }
    return { ok: true as const };
  }

  api.post(
    "/api/auth/login",
    {
      config: { ...requires.nothing, errors: ["INVALID_CREDENTIALS", "RATE_LIMITED"] },
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
      const admitted = await limits.admit({ tenant, username, ip: request.ip });
      let verdict: Awaited<ReturnType<typeof verifyPassword>>;
      let user: User | null;
      try {
        if (admitted.delayMs > 0) await sleep(admitted.delayMs);
        // A full hashing queue refuses (503) before the lookup, alike for known and unknown usernames;
        // a refused attempt is no guess and counts against nobody (only a judged one is charged below).
        ctx.passwords.admit();
        user = await ctx.router.stores.users.getByUsername(tenant, username);
        verdict = await verifyPassword(request, user, password);
        await (verdict.ok ? admitted.succeeded() : admitted.failed());
      } finally {
        admitted.release();
      }
      if (!verdict.ok) {
        await request.audit({
          action: "auth.login_failed",
          outcome: "failure",
          userId: user?.id ?? null,
          target: user ? `user:${user.id}` : null,
          details: { reason: verdict.reason },
        });
        throw new AppError("INVALID_CREDENTIALS");
      }
      // A new session id at every login: a session planted before sign-in (fixation) dies here.
      const previous = ctx.cookie.read(request);
      if (previous) await ctx.sessions.revoke(tenant, tokenHash(previous)).catch(() => undefined);
      const started = await ctx.sessions.start(tenant, user!.id, clientInfo(request));
      ctx.cookie.set(reply, started.token);
      await request.audit({
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
    {
      config: requires.anyRole,
      schema: {
        tags: ["auth"],
        summary: "Sign out of this session",
        response: { 200: Type.Object({ signed_out: Type.Boolean() }) },
      },
    },
    async (request, reply) => {
      const principal = sessionOf(request);
      await ctx.sessions.revoke(request.tenant, principal.session.id);
      ctx.cookie.clear(reply);
      await request.audit({
        action: "auth.logout",
        outcome: "success",
      });
      return { signed_out: true };
    },
  );

  api.get(
    "/api/auth/me",
    {
      config: requires.anyRole,
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
      config: requires.anyRole,
      schema: {
        tags: ["auth"],
        summary: "The signed-in user's sessions",
        response: {
          200: Type.Object({
            sessions: Type.Array(PublicSession),
          }),
        },
      },
    },
    async (request) => {
      const { user, session: current } = sessionOf(request);
      const sessions = await ctx.router.stores.sessions.listByUser(request.tenant, user.id);
      return { sessions: sessions.map((session) => publicSession(session, current.id)) };
    },
  );

  api.delete(
    "/api/auth/sessions",
    {
      config: requires.anyRole,
      schema: {
        tags: ["auth"],
        summary: "Sign out everywhere (every session of this user)",
        response: { 200: Type.Object({ revoked: Type.Integer({ description: "sessions ended" }) }) },
      },
    },
    async (request, reply) => {
      const { user } = sessionOf(request);
      const revoked = await ctx.sessions.revokeAllForUser(request.tenant, user.id);
      ctx.cookie.clear(reply);
      await request.audit({
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
      config: { ...requires.anyRole, errors: ["INVALID_CREDENTIALS", "RATE_LIMITED"] },
      schema: {
        tags: ["auth"],
        summary: "Change the signed-in user's password; every other session is revoked",
        response: { 200: Type.Object({ changed: Type.Boolean() }) },
        body: Type.Object(
          { current_password: AnyPassword, new_password: NewPassword },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { user, session } = sessionOf(request);
      // Limited per session: nobody else's guesses can keep a signed-in user from changing their password.
      const check = await limits.admitPasswordCheck(session.id);
      let verdict: Awaited<ReturnType<typeof verifyPassword>>;
      try {
        verdict = await verifyPassword(request, user, request.body.current_password);
        if (!verdict.ok) await check.failed();
      } finally {
        check.release();
      }
      if (!verdict.ok) {
        await request.audit({
          action: "auth.password_change_failed",
          outcome: "failure",
          target: `user:${user.id}`,
        });
        throw new AppError("INVALID_CREDENTIALS", "The current password is wrong.");
      }
      const stored = await ctx.passwords.hash(request.body.new_password);
      await ctx.router.stores.users.updatePassword(request.tenant, user.id, stored);
      await rotateUserSessions(ctx, request, reply, user.id);
      await request.audit({
        action: "auth.password_changed",
        outcome: "success",
        target: `user:${user.id}`,
      });
      return { changed: true };
    },
  );
}
