import { createLock } from "@firebrick/lock";
import { createFirestoreBackend } from "@firebrick/lock/firestore";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, sessionCookie, startTestService, type TestService } from "../testing/service.js";
import { startSessionSweeper } from "./sweeper.js";
import { runUnderLock, SWEEPER_LOCK_KEY } from "./sweeper-lock.js";
import { tokenHash } from "./tokens.js";

const MINUTE = 60_000;
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

describe.each(BACKENDS)("sessions over HTTP (%s)", (backend) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(backend);
  }, 60_000);
  afterAll(() => service?.close());

  const me = (session: string, options: { remoteAddress?: string; userAgent?: string } = {}) =>
    service.request({
      method: "GET",
      url: "/api/auth/me",
      tenant: "t1",
      session,
      ...(options.remoteAddress && { remoteAddress: options.remoteAddress }),
      ...(options.userAgent && { headers: { "user-agent": options.userAgent } }),
    });
  const stored = async (token: string) => {
    const found = await service.router.stores.sessions.find("t1", tokenHash(token));
    return found.status === "found" ? found.session : null;
  };

  it("returns the signed-in user from /api/auth/me, and 401 UNAUTHENTICATED without a cookie", async () => {
    const session = await service.login("t1", "viewer");
    const response = await me(session);
    expect(response.statusCode).toBe(200);
    expect(response.json().user).toMatchObject({ username: "viewer", role: "viewer", tenant_id: "t1" });
    const anonymous = await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe("UNAUTHENTICATED");
  });

  it("ends a session idle for 30 minutes", async () => {
    const session = await service.login("t1", "viewer");
    service.clock.advance(29 * MINUTE);
    expect((await me(session)).statusCode).toBe(200);
    service.clock.advance(29 * MINUTE);
    expect((await me(session)).statusCode).toBe(200);
    service.clock.advance(30 * MINUTE);
    expect((await me(session)).statusCode).toBe(401);
    expect(await stored(session)).toBeNull();
  });

  it("ends a session 12 hours after login however active it is", async () => {
    const session = await service.login("t1", "viewer");
    for (let elapsed = 0; elapsed < 11 * 60; elapsed += 20) {
      service.clock.advance(20 * MINUTE);
      expect((await me(session)).statusCode).toBe(200);
    }
    service.clock.advance(60 * MINUTE);
    expect((await me(session)).statusCode).toBe(401);
  });

  it("writes the idle clock at most once a minute, not on every request", async () => {
    const session = await service.login("t1", "viewer");
    const loginAt = (await stored(session))!.last_seen_at;
    service.clock.advance(10_000);
    service.usage.reset();
    for (let i = 0; i < 5; i++) {
      service.clock.advance(5_000);
      expect((await me(session)).statusCode).toBe(200);
    }
    expect((await stored(session))!.last_seen_at).toBe(loginAt);
    // No session write in those five requests, and at most one read each (the session itself).
    const sessionUsage = [...service.usage.byArea].filter(([key]) => key.endsWith(":sessions"));
    expect(sessionUsage.reduce((sum, [, u]) => sum + u.writes, 0)).toBe(0);
    service.clock.advance(30_000);
    expect((await me(session)).statusCode).toBe(200);
    expect((await stored(session))!.last_seen_at).toBe(service.clock.now);
  });

  it("costs at most one document read per authenticated request once warm", async () => {
    const session = await service.login("t1", "viewer");
    await me(session);
    service.usage.reset();
    await me(session);
    expect(service.usage.reads).toBeLessThanOrEqual(1);
  });

  it("issues a new session at login and revokes the one the browser presented", async () => {
    const first = await service.login("t1", "viewer");
    const again = await service.request({
      method: "POST",
      url: "/api/auth/login",
      tenant: "t1",
      session: first,
      payload: { username: "viewer", password: "correct horse battery" },
    });
    const second = sessionCookie(again)!;
    expect(second).not.toBe(first);
    expect((await me(first)).statusCode).toBe(401);
    expect((await me(second)).statusCode).toBe(200);
  });

  it("keeps a session across a new address in the same /24 and a browser update, and revokes it on another network", async () => {
    const session = await service.login("t1", "operator", {
      remoteAddress: "198.51.100.10",
      userAgent: CHROME,
    });
    const sameNet = await me(session, {
      remoteAddress: "198.51.100.77",
      userAgent: CHROME.replace("120.0", "121.0"),
    });
    expect(sameNet.statusCode).toBe(200);
    const stolen = await me(session, { remoteAddress: "203.0.113.5", userAgent: CHROME });
    expect(stolen.statusCode).toBe(401);
    expect(await stored(session)).toBeNull();
    // Revoked for good: the original client is signed out too.
    expect((await me(session, { remoteAddress: "198.51.100.10", userAgent: CHROME })).statusCode).toBe(401);
    const audit = await service.router.stores.audit.query("t1", {
      action: "session.fingerprint_mismatch",
      limit: 5,
    });
    expect(audit.items[0]).toMatchObject({
      user_id: service.t1.users.operator.id,
      outcome: "denied",
      ip: "203.0.113.5",
    });
  });

  it("revokes a session replayed from another browser family", async () => {
    const session = await service.login("t1", "operator", {
      remoteAddress: "198.51.100.10",
      userAgent: CHROME,
    });
    expect((await me(session, { remoteAddress: "198.51.100.10", userAgent: FIREFOX })).statusCode).toBe(401);
  });

  it("binds IPv6 sessions to the /48", async () => {
    const session = await service.login("t1", "viewer", { remoteAddress: "2001:db8:abcd:1::1" });
    expect((await me(session, { remoteAddress: "2001:db8:abcd:ffff::2" })).statusCode).toBe(200);
    expect((await me(session, { remoteAddress: "2001:db8:abce::1" })).statusCode).toBe(401);
  });

  it("lists the caller's own sessions, marking the current one, and logs out everywhere", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "roamer",
      role: "viewer",
      ...(await service.ctx.passwords.hash("correct horse battery")),
    });
    const a = await service.login("t1", "roamer");
    const b = await service.login("t1", "roamer");
    const list = await service.request({
      method: "GET",
      url: "/api/auth/sessions",
      tenant: "t1",
      session: a,
    });
    expect(list.statusCode).toBe(200);
    const sessions = list.json().sessions as Array<{ current: boolean }>;
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(JSON.stringify(list.json())).not.toContain(a);
    const all = await service.request({
      method: "DELETE",
      url: "/api/auth/sessions",
      tenant: "t1",
      session: a,
    });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ revoked: 2 });
    expect(sessionCookie(all)).toBe("");
    expect((await me(a)).statusCode).toBe(401);
    expect((await me(b)).statusCode).toBe(401);
  });

  it("logs out: the session is deleted and the cookie cleared", async () => {
    const session = await service.login("t1", "viewer");
    const out = await service.request({ method: "POST", url: "/api/auth/logout", tenant: "t1", session });
    expect(out.statusCode).toBe(200);
    expect(sessionCookie(out)).toBe("");
    expect(await stored(session)).toBeNull();
    expect((await me(session)).statusCode).toBe(401);
  });

  it("revokes a user's sessions when an admin changes their role, and rotates the admin's own on a self-change", async () => {
    const { stores } = service.router;
    const user = await stores.users.create("t1", {
      username: "promoted",
      role: "viewer",
      ...(await service.ctx.passwords.hash("correct horse battery")),
    });
    const theirs = await service.login("t1", "promoted");
    const admin = await service.login("t1", "admin");
    const patch = await service.request({
      method: "PATCH",
      url: `/api/users/${user.id}`,
      tenant: "t1",
      session: admin,
      payload: { role: "operator" },
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().user.role).toBe("operator");
    expect((await me(theirs)).statusCode).toBe(401);
    const relogin = await service.login("t1", "promoted");
    expect((await me(relogin)).json().user.role).toBe("operator");

    const self = await service.request({
      method: "PATCH",
      url: `/api/users/${service.t1.users.admin.id}`,
      tenant: "t1",
      session: admin,
      payload: { password: "correct horse battery" },
    });
    expect(self.statusCode).toBe(200);
    const rotated = sessionCookie(self)!;
    expect(rotated).not.toBe(admin);
    expect((await me(admin)).statusCode).toBe(401);
    expect((await me(rotated)).statusCode).toBe(200);
  });

  it("sweeps expired sessions under @firebrick/lock, and skips the run while another instance holds the lock", async () => {
    const backend =
      service.backend === "firestore"
        ? createFirestoreBackend(service.firestore!)
        : createSqliteBackend(service.sqlite);
    const lock = createLock(backend);
    const session = await service.login("t1", "viewer");
    const live = await service.login("t1", "operator");
    service.clock.advance(31 * MINUTE);
    expect((await me(live)).statusCode).toBe(401);
    const fresh = await service.login("t1", "operator");
    const sweeper = startSessionSweeper(
      {
        stores: () => [service.router.stores.sessions],
        runExclusive: runUnderLock(lock),
        clock: service.clock.read,
      },
      false,
    );
    const held = await backend.acquire({ key: SWEEPER_LOCK_KEY, ttlMs: 30_000 });
    if (!held.ok) throw new Error("could not take the sweeper lock");
    expect(await sweeper.sweepOnce()).toBe(0);
    expect((await service.router.stores.sessions.find("t1", tokenHash(session))).status).toBe("found");
    await backend.release({ lockId: held.lockId });
    expect(await sweeper.sweepOnce()).toBeGreaterThanOrEqual(1);
    expect((await service.router.stores.sessions.find("t1", tokenHash(session))).status).toBe("missing");
    expect((await service.router.stores.sessions.find("t1", tokenHash(fresh))).status).toBe("found");
  });
});
