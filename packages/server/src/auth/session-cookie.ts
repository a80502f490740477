import type { FastifyReply } from "fastify";
import { SESSION_COOKIE, type ServiceContext } from "../service.js";

/** The session cookie (SPEC.md §5): HttpOnly, SameSite=Lax, Secure unless in local-HTTP mode. */
export function setSessionCookie(ctx: ServiceContext, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: ctx.cookieSecure,
    maxAge: Math.floor(ctx.sessionCookieMaxAgeMs / 1000),
  });
}

export function clearSessionCookie(ctx: ServiceContext, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "lax", secure: ctx.cookieSecure });
}
