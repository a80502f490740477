import type { FastifyReply, FastifyRequest } from "fastify";

export const SESSION_COOKIE = "firebrick_session";

/**
 * The session cookie (docs/design/sessions.md): `HttpOnly`, `SameSite=Lax`, `Secure` unless the server is
 * in local-HTTP mode, and no longer-lived than a session can be.
 */
export interface SessionCookie {
  /** The token the request presents, if any. */
  read(request: FastifyRequest): string | undefined;
  set(reply: FastifyReply, token: string): void;
  clear(reply: FastifyReply): void;
}

/**
 * @example
 * const cookie = sessionCookie({ secure: config.cookieSecure, maxAgeMs: SESSION_POLICY.absoluteTimeoutMs });
 * cookie.set(reply, started.token);
 */
export function sessionCookie(options: { secure: boolean; maxAgeMs: number }): SessionCookie {
  const attributes = { path: "/", httpOnly: true, sameSite: "lax", secure: options.secure } as const;
  return {
    read: (request) => request.cookies[SESSION_COOKIE],
    set(reply, token) {
      reply.setCookie(SESSION_COOKIE, token, { ...attributes, maxAge: Math.floor(options.maxAgeMs / 1000) });
    },
    clear(reply) {
      reply.clearCookie(SESSION_COOKIE, attributes);
    },
  };
}
