import { createHash, pbkdf2Sync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenHash } from "../sessions/tokens.js";
import { BACKENDS, PASSWORD, sessionCookie, startTestService, type TestService } from "../testing/service.js";
import { LOGIN_LIMITS } from "./login-limits.js";

describe.each(BACKENDS)("login and passwords over HTTP (%s)", (backend) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(backend, {
      loginLimits: {
        ...LOGIN_LIMITS,
        perUsernameAndAddress: 3,
        perAddress: 6,
        windowMs: 60_000,
        slowDownAfter: 3,
        slowDownBaseMs: 50,
        slowDownMaxMs: 200,
        perSession: 3,
      },
    });
  }, 60_000);
  afterAll(() => service?.close());

  const login = (tenant: string, username: string, password: string, remoteAddress = "10.0.0.1") =>
    service.request({
      method: "POST",
      url: "/api/auth/login",
      tenant,
      payload: { username, password },
      remoteAddress,
    });

  it("signs in with username and password: 200 with the user, and an HttpOnly, SameSite=Lax, Secure session cookie", async () => {
    const response = await login("t1", "operator", PASSWORD, "10.1.0.1");
    expect(response.statusCode).toBe(200);
    expect(response.json().user).toEqual({
      id: service.t1.users.operator.id,
      username: "operator",
      role: "operator",
      tenant_id: "t1",
      created_at: expect.any(Number),
    });
    const cookie = response.cookies.find((c) => c.name === "firebrick_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: true, path: "/" });
    // 256 bits, base64url: 43 characters.
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(response.json())).not.toContain(cookie.value);
  });

  it("stores only the SHA-256 of the session token, never the token", async () => {
    const token = await service.login("t1", "viewer");
    const stored = await service.router.stores.sessions.find("t1", tokenHash(token));
    expect(stored.status).toBe("found");
    const sessions = await service.router.stores.sessions.listByUser("t1", service.t1.users.viewer.id);
    expect(sessions.map((s) => s.id)).toContain(createHash("sha256").update(token).digest("hex"));
    expect(JSON.stringify(sessions)).not.toContain(token);
  });

  it("answers every failed login with the same 401 INVALID_CREDENTIALS and message", async () => {
    const { stores } = service.router;
    const unsalted = await stores.users.create("t1", {
      username: "legacy-unsalted",
      role: "viewer",
      password_hash: createHash("sha256").update(PASSWORD).digest("hex"),
      algo_params: { algorithm: "sha256" },
      needs_rehash: true,
    });
    const failures = [
      await login("t1", "operator", "wrong password", "10.2.0.1"),
      await login("t1", "nobody", PASSWORD, "10.2.0.2"),
      await login("t1", unsalted.username, PASSWORD, "10.2.0.3"),
      await login("no-such-tenant", "operator", PASSWORD, "10.2.0.4"),
      await login("t2", "operator", "wrong password", "10.2.0.5"),
    ];
    const shapes = failures.map((r) => [r.statusCode, r.json().error.code, r.json().error.message]);
    expect(new Set(shapes.map((s) => JSON.stringify(s))).size).toBe(1);
    expect(shapes[0]).toEqual([401, "INVALID_CREDENTIALS", "Invalid username or password."]);
    for (const response of failures) expect(sessionCookie(response)).toBeUndefined();
  });

  it("refuses an unsalted legacy hash even with the right password, and audits it as needing a reset", async () => {
    const { stores } = service.router;
    const user = await stores.users.create("t1", {
      username: "legacy-md5",
      role: "viewer",
      password_hash: createHash("md5").update(PASSWORD).digest("hex"),
      algo_params: { algorithm: "md5" },
      needs_rehash: true,
    });
    expect((await login("t1", "legacy-md5", PASSWORD, "10.3.0.1")).statusCode).toBe(401);
    const audit = await stores.audit.query("t1", {
      user_id: user.id,
      action: "auth.login_failed",
      limit: 10,
    });
    expect(audit.items[0]?.details).toMatchObject({ reason: "password_reset_required" });
  });

  it("verifies a salted legacy hash once, then replaces it with Argon2id", async () => {
    const { stores } = service.router;
    const salt = "k3Yq8s";
    const legacy = `pbkdf2:sha256:1000$${salt}$${pbkdf2Sync(PASSWORD, salt, 1000, 32, "sha256").toString("hex")}`;
    const user = await stores.users.create("t1", {
      username: "legacy-pbkdf2",
      role: "operator",
      password_hash: legacy,
      algo_params: { algorithm: "pbkdf2_sha256", iterations: 1000 },
      needs_rehash: true,
    });
    expect((await login("t1", "legacy-pbkdf2", "not it", "10.4.0.1")).statusCode).toBe(401);
    expect((await stores.users.get("t1", user.id))?.password_hash).toBe(legacy);
    expect((await login("t1", "legacy-pbkdf2", PASSWORD, "10.4.0.1")).statusCode).toBe(200);
    const rehashed = (await stores.users.get("t1", user.id))!;
    expect(rehashed.password_hash).toMatch(/^\$argon2id\$/);
    expect(rehashed.needs_rehash).toBe(false);
    expect(rehashed.algo_params).toMatchObject({ algorithm: "argon2id" });
    expect((await login("t1", "legacy-pbkdf2", PASSWORD, "10.4.0.1")).statusCode).toBe(200);
  });

  it("limits guesses per (username, address): 429 with Retry-After for that address, even with the right password, until the window passes", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "target",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    for (let i = 0; i < 3; i++)
      expect((await login("t1", "target", "guess", "10.5.0.1")).statusCode).toBe(401);
    const blocked = await login("t1", "TARGET", PASSWORD, "10.5.0.1");
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe("RATE_LIMITED");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    // Another tenant's user of the same name is not affected.
    await stores.users.create("t2", {
      username: "target",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    expect((await login("t2", "target", PASSWORD, "10.5.0.1")).statusCode).toBe(200);
    service.clock.advance(61_000);
    expect((await login("t1", "target", PASSWORD, "10.5.0.1")).statusCode).toBe(200);
  });

  it("never lets guesses from other addresses stop the right password: they slow the username down, they do not lock it", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "victim",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    // Five wrong passwords from five addresses (the lock-out), then more from others.
    for (let i = 0; i < 8; i++)
      expect((await login("t1", "victim", "guess", `10.9.${i}.1`)).statusCode).toBe(401);
    const started = Date.now();
    const right = await login("t1", "victim", PASSWORD, "10.9.200.1");
    expect(right.statusCode).toBe(200);
    // Slowed down (the username has failed 8 times, past 3), by at most the cap.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const failures = await stores.audit.query("t1", { action: "auth.login_failed", limit: 20 });
    expect(failures.items.length).toBeGreaterThanOrEqual(8);
  });

  it("counts concurrent guesses from one address too: a burst cannot slip past its budget while earlier guesses are hashing", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "burst",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => login("t1", "burst", `guess-${i}`, "10.8.0.1")),
    );
    expect(statuses.filter((r) => r.statusCode === 401)).toHaveLength(3);
    expect(statuses.filter((r) => r.statusCode === 429)).toHaveLength(5);
  });

  it("rate-limits failed logins per IP across usernames", async () => {
    for (let i = 0; i < 6; i++)
      expect((await login("t1", `spray-${i}`, "guess", "10.6.0.1")).statusCode).toBe(401);
    const blocked = await login("t1", "viewer", PASSWORD, "10.6.0.1");
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers["retry-after"]).toBeDefined();
    expect((await login("t1", "viewer", PASSWORD, "10.6.0.2")).statusCode).toBe(200);
  });

  it("never locks a password change by someone else's guesses; the session's own wrong guesses are limited", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "mover",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    const mine = await service.login("t1", "mover");
    const other = await service.login("t1", "viewer");
    // Someone guesses at the account from many addresses, and spends the budget of the user's own
    // address (127.0.0.1, where the sessions were started) on other usernames.
    for (let i = 0; i < 6; i++) await login("t1", "mover", "guess", `10.10.${i}.1`);
    for (let i = 0; i < 6; i++) await login("t1", `spray-mover-${i}`, "guess", "127.0.0.1");
    expect((await login("t1", "mover", PASSWORD, "127.0.0.1")).statusCode).toBe(429);
    const change = (current: string, session = mine) =>
      service.request({
        method: "POST",
        url: "/api/auth/password",
        tenant: "t1",
        session,
        payload: { current_password: current, new_password: "another long passphrase" },
      });
    // The session's own wrong guesses: 3 allowed, then 429 for this session only.
    for (let i = 0; i < 3; i++) expect((await change("wrong", other)).statusCode).toBe(401);
    expect((await change("wrong", other)).statusCode).toBe(429);
    const changed = await change(PASSWORD);
    expect(changed.statusCode).toBe(200);
    service.clock.advance(61_000); // the address's window passes: the next tests sign in from it again
  });

  it("changes the password: the old one stops working, other sessions are revoked, the caller gets a new session", async () => {
    const { stores } = service.router;
    await stores.users.create("t1", {
      username: "changer",
      role: "viewer",
      ...(await service.ctx.passwords.hash(PASSWORD)),
    });
    const other = await service.login("t1", "changer");
    const mine = await service.login("t1", "changer");
    const wrong = await service.request({
      method: "POST",
      url: "/api/auth/password",
      tenant: "t1",
      session: mine,
      payload: { current_password: "not mine", new_password: "a brand new passphrase" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("INVALID_CREDENTIALS");
    const changed = await service.request({
      method: "POST",
      url: "/api/auth/password",
      tenant: "t1",
      session: mine,
      payload: { current_password: PASSWORD, new_password: "a brand new passphrase" },
    });
    expect(changed.statusCode).toBe(200);
    const rotated = sessionCookie(changed)!;
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const old of [other, mine]) {
      expect(
        (await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: old }))
          .statusCode,
      ).toBe(401);
    }
    expect(
      (await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: rotated }))
        .statusCode,
    ).toBe(200);
    expect((await login("t1", "changer", PASSWORD, "10.7.0.1")).statusCode).toBe(401);
    expect((await login("t1", "changer", "a brand new passphrase", "10.7.0.1")).statusCode).toBe(200);
  });

  it("rejects a new password shorter than 12 characters with VALIDATION_FAILED", async () => {
    const session = await service.login("t1", "viewer");
    const response = await service.request({
      method: "POST",
      url: "/api/auth/password",
      tenant: "t1",
      session,
      payload: { current_password: PASSWORD, new_password: "short" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("VALIDATION_FAILED");
  });
});
