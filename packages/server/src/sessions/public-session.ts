import { Type } from "typebox";
import type { Session } from "../stores/types.js";

/**
 * How many hex characters of the stored id (the token's SHA-256) name a session in the API: enough to tell
 * one user's sessions apart, too few to be worth anything to someone who reads them.
 */
export const SESSION_REF_LENGTH = 16;

export const SessionRef = Type.String({
  pattern: `^[0-9a-f]{${SESSION_REF_LENGTH}}$`,
  description: "a session's `id` as the session lists give it",
});

export const PublicSession = Type.Object({
  id: Type.String({ description: "a prefix of the stored session id (not the token)" }),
  current: Type.Boolean({ description: "the session this request was made with" }),
  created_at: Type.Integer(),
  last_seen_at: Type.Integer({ description: "the idle clock, moved at most once a minute" }),
  expires_at: Type.Integer(),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
});

/** A session as the API shows it (`PublicSession`): never its token, nor its whole stored id. */
export function publicSession(session: Session, currentId: string | null) {
  return {
    id: sessionRef(session),
    current: session.id === currentId,
    created_at: session.created_at,
    last_seen_at: session.last_seen_at,
    expires_at: session.expires_at,
    user_agent: session.user_agent,
    ip: session.ip,
  };
}

export function sessionRef(session: Session): string {
  return session.id.slice(0, SESSION_REF_LENGTH);
}
