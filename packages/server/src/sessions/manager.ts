import { BoundedMap } from "../bounded-map.js";
import type { Clock, Session, SessionsStore, TenantId, User, UsersStore } from "../stores/types.js";
import { sessionFingerprint } from "./fingerprint.js";
import { newOpaqueToken, tokenHash } from "./tokens.js";

/** docs/design/sessions.md: idle 30 min, absolute 12 h, the idle clock written at most once a minute. */
export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
}

export const SESSION_POLICY: SessionPolicy = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 3600_000,
  touchIntervalMs: 60_000,
};

export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

export type SessionResolution =
  | { status: "ok"; session: Session; user: User }
  /** No such session, expired (idle or absolute), or its user is gone: 401. */
  | { status: "missing" }
  /** A valid token for another tenant: 403 + audit. */
  | { status: "other_tenant" }
  /** The token was replayed from another client or network: revoked, 401 + audit. */
  | { status: "fingerprint_mismatch"; session: Session };

export interface SessionManager {
  /** A new session for the user; returns the token (for the cookie, never stored) and the stored row. */
  start(tenant: TenantId, userId: string, client: ClientInfo): Promise<{ token: string; session: Session }>;
  /** The session and user behind a token, enforcing expiry and fingerprint; refreshes the idle clock. */
  resolve(tenant: TenantId, token: string, client: ClientInfo): Promise<SessionResolution>;
  revoke(tenant: TenantId, sessionId: string): Promise<void>;
  /** Revokes every session of the user (but `exceptId`); used on privilege changes and "log out everywhere". */
  revokeAllForUser(tenant: TenantId, userId: string, exceptId?: string): Promise<number>;
  /** Drops the cached users (their store moved with the auth area). */
  forgetUsers(): void;
}

export interface SessionManagerOptions {
  /** Resolved per call, so that a flag change moves sessions and users to the other store at once. */
  sessions: () => SessionsStore;
  users: () => UsersStore;
  clock: Clock;
  policy?: SessionPolicy;
}

// The user behind a session is cached briefly so that an authenticated request costs one read (the
// session). This is safe because every change that matters (role, password, deletion) revokes the
// user's sessions, and the session read on every request sees that revocation.
const USER_CACHE_MS = 60_000;
const USER_CACHE_MAX = 10_000;

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const policy = options.policy ?? SESSION_POLICY;
  const { clock } = options;
  const userCache = new BoundedMap<string, { user: User; fetchedAt: number }>(USER_CACHE_MAX);

  async function userFor(session: Session, now: number): Promise<User | null> {
    const cached = userCache.get(session.id);
    if (cached && now - cached.fetchedAt < USER_CACHE_MS && cached.user.tenant_id === session.tenant_id) {
      return cached.user;
    }
    const user = await options.users().get(session.tenant_id, session.user_id);
    if (user) userCache.set(session.id, { user, fetchedAt: now });
    return user;
  }

  return {
    async start(tenant, userId, client) {
      const token = newOpaqueToken();
      const now = clock();
      const session: Session = {
        id: tokenHash(token),
        tenant_id: tenant,
        user_id: userId,
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.absoluteTimeoutMs,
        fingerprint: sessionFingerprint(client.userAgent, client.ip),
        user_agent: client.userAgent?.slice(0, 256) ?? null,
        ip: client.ip,
      };
      await options.sessions().create(session);
      return { token, session };
    },

    async resolve(tenant, token, client) {
      const id = tokenHash(token);
      const found = await options.sessions().find(tenant, id);
      if (found.status === "other_tenant") return { status: "other_tenant" };
      if (found.status === "missing") {
        userCache.delete(id);
        return { status: "missing" };
      }
      const { session } = found;
      const now = clock();
      if (now >= session.expires_at || now - session.last_seen_at >= policy.idleTimeoutMs) {
        userCache.delete(id);
        await options.sessions().delete(tenant, id);
        return { status: "missing" };
      }
      if (sessionFingerprint(client.userAgent, client.ip) !== session.fingerprint) {
        userCache.delete(id);
        await options.sessions().delete(tenant, id);
        return { status: "fingerprint_mismatch", session };
      }
      const user = await userFor(session, now);
      if (!user) {
        await options.sessions().delete(tenant, id);
        return { status: "missing" };
      }
      if (now - session.last_seen_at >= policy.touchIntervalMs) {
        await options.sessions().touch(tenant, id, now);
        session.last_seen_at = now;
      }
      return { status: "ok", session, user };
    },

    async revoke(tenant, sessionId) {
      userCache.delete(sessionId);
      await options.sessions().delete(tenant, sessionId);
    },

    async revokeAllForUser(tenant, userId, exceptId) {
      for (const [id, entry] of userCache.entries()) {
        if (entry.user.id === userId && entry.user.tenant_id === tenant && id !== exceptId)
          userCache.delete(id);
      }
      return options.sessions().deleteAllForUser(tenant, userId, exceptId ? { exceptId } : {});
    },

    forgetUsers() {
      userCache.clear();
    },
  };
}
