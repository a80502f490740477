// Session and tenant abuse through a real port (docs/design/sessions.md, docs/design/targets.md), with auth
// and audit on Firestore. The exhaustive cross-tenant sweep of every endpoint in every combination lives with
// the service's tests (packages/server/src/tenancy/tenancy.test.ts, driven by
// packages/server/src/testing/endpoints.ts); here one cross-tenant attempt per credential kind shows the same
// refusal on a real socket.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../packages/server/src/stores/types.js";
import { startTestServer, type TestServer } from "../../packages/server/src/testing/server.js";
import { emulatorHost, uniqueProjectId } from "../firestore.js";
import { CHROME, call, FIREFOX } from "./support.js";

const PASSWORD = "abuse test password";
const TENANT = "demo";

describe("session and tenant abuse over a real port", () => {
  let service: TestServer;
  let adminId: string;
  let viewerId: string;

  beforeAll(async () => {
    service = await startTestServer({
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("abuse"),
      USE_FIRESTORE_AUTH: "1",
      USE_FIRESTORE_AUDIT: "1",
    });
    const admin = await signIn("admin", service.adminPassword);
    adminId = ((await me(admin)).body as { user: { id: string } }).user.id;
    const created = await call(service.url, "POST", "/api/users", {
      tenant: TENANT,
      session: admin,
      body: { username: "viewer", password: PASSWORD, role: "viewer" },
    });
    expect(created.status).toBe(201);
    viewerId = (created.body as { user: { id: string } }).user.id;
    const other = await call(service.url, "POST", "/api/users", {
      tenant: TENANT,
      session: admin,
      body: { username: "other-admin", password: PASSWORD, role: "admin" },
    });
    expect(other.status).toBe(201);
  }, 60_000);
  afterAll(() => service?.close());

  async function signIn(
    username: string,
    password = PASSWORD,
    options: { planted?: string; from?: string; userAgent?: string } = {},
  ): Promise<string> {
    const reply = await call(service.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username, password },
      ...(options.planted !== undefined && { session: options.planted }),
      ...(options.from && { from: options.from }),
      ...(options.userAgent && { userAgent: options.userAgent }),
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.session!;
  }
  const me = (session: string, options: { from?: string; userAgent?: string } = {}) =>
    call(service.url, "GET", "/api/auth/me", { tenant: TENANT, session, ...options });
  const audit = async (action: string): Promise<AuditEntry[]> =>
    (await service.server.stores.router.stores.audit.query(TENANT, { action, limit: 100 })).items;
  const errorCode = (body: unknown) => (body as { error: { code: string } }).error.code;

  it("never adopts a session id planted before sign-in: login issues a new one and the planted value stays unauthenticated", async () => {
    const planted = randomBytes(32).toString("base64url");
    const session = await signIn("viewer", PASSWORD, { planted });
    expect(session).not.toBe(planted);
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const withPlanted = await me(planted);
    expect(withPlanted.status).toBe(401);
    expect(errorCode(withPlanted.body)).toBe("UNAUTHENTICATED");
    expect((await me(session)).status).toBe(200);
    expect((await audit("auth.login")).some((entry) => entry.user_id === viewerId)).toBe(true);
  });

  it("revokes an attacker's own valid session planted in a victim's browser when the victim signs in", async () => {
    const attackers = await signIn("viewer");
    const victims = await signIn("admin", service.adminPassword, { planted: attackers });
    expect(victims).not.toBe(attackers);
    // The planted id is dead: the attacker cannot ride the victim's sign-in, nor keep their own session.
    expect((await me(attackers)).status).toBe(401);
    const victim = await me(victims);
    expect(victim.status).toBe(200);
    expect((victim.body as { user: { id: string } }).user.id).toBe(adminId);
    const logins = await audit("auth.login");
    expect(logins.some((entry) => entry.user_id === adminId)).toBe(true);
  });

  it("refuses a cookie replayed from another network, revokes the session for its owner too, and audits it", async () => {
    const session = await signIn("viewer", PASSWORD, { from: "127.0.0.1", userAgent: CHROME });
    expect((await me(session, { from: "127.0.0.1", userAgent: CHROME })).status).toBe(200);
    const stolen = await me(session, { from: "127.42.0.9", userAgent: CHROME });
    expect(stolen.status).toBe(401);
    expect(stolen.session).toBe("");
    expect((await me(session, { from: "127.0.0.1", userAgent: CHROME })).status).toBe(401);
    const mismatch = (await audit("session.fingerprint_mismatch")).find((entry) => entry.ip === "127.42.0.9");
    expect(mismatch).toMatchObject({ user_id: viewerId, outcome: "denied" });
  });

  it("refuses a cookie replayed from another browser family, and audits it", async () => {
    const session = await signIn("viewer", PASSWORD, { from: "127.0.0.1", userAgent: CHROME });
    const before = (await audit("session.fingerprint_mismatch")).length;
    expect((await me(session, { from: "127.0.0.1", userAgent: FIREFOX })).status).toBe(401);
    expect((await me(session, { from: "127.0.0.1", userAgent: CHROME })).status).toBe(401);
    const after = await audit("session.fingerprint_mismatch");
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ user_id: viewerId, outcome: "denied", user_agent: FIREFOX });
  });

  it("refuses a cookie replayed after logout on every session endpoint, and audits the logout and the replays", async () => {
    const rejectedBefore = (await audit("session.rejected")).length;
    const session = await signIn("admin", service.adminPassword);
    const logout = await call(service.url, "POST", "/api/auth/logout", { tenant: TENANT, session });
    expect(logout.status).toBe(200);
    expect(logout.session).toBe("");
    for (const [method, path] of [
      ["GET", "/api/auth/me"],
      ["GET", "/api/auth/sessions"],
      ["GET", "/api/users"],
      ["GET", "/api/devices"],
      ["GET", "/api/audit"],
      ["POST", "/api/auth/logout"],
    ] as const) {
      const replay = await call(service.url, method, path, { tenant: TENANT, session });
      expect(replay.status, `${method} ${path}`).toBe(401);
      expect(errorCode(replay.body)).toBe("UNAUTHENTICATED");
    }
    expect((await audit("auth.logout")).some((entry) => entry.user_id === adminId)).toBe(true);
    const rejected = await audit("session.rejected");
    // At most 10 such entries a minute per client address (flood guard), so at least one of these six.
    expect(rejected.length).toBeGreaterThan(rejectedBefore);
    expect(rejected[0]).toMatchObject({ outcome: "denied" });
  });

  it("refuses a session under another tenant's header with 403 TENANT_MISMATCH, audited in that tenant", async () => {
    const admin = await signIn("admin", service.adminPassword);
    await service.server.stores.router.stores.tenants.create({ id: "other" });
    const reply = await call(service.url, "GET", "/api/devices", { tenant: "other", session: admin });
    expect(reply.status).toBe(403);
    expect(errorCode(reply.body)).toBe("TENANT_MISMATCH");
    const violations = (
      await service.server.stores.router.stores.audit.query("other", { action: "tenant.violation", limit: 5 })
    ).items;
    expect(violations[0]).toMatchObject({
      outcome: "denied",
      details: { reason: "session_tenant_mismatch" },
    });
  });
});
