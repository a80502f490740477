import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, PASSWORD, startTestService, type TestService } from "../testing/service.js";

describe.each(BACKENDS)("users over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  beforeAll(async () => {
    service = await startTestService(backend);
    admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  const create = (body: object) =>
    service.request({ method: "POST", url: "/api/users", tenant: "t1", session: admin, payload: body });

  it("creates a user (201, no hash in the answer) who can then sign in with their role", async () => {
    const response = await create({ username: "Nadia", password: PASSWORD, role: "operator" });
    expect(response.statusCode).toBe(201);
    expect(response.json().user).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: "Nadia",
      role: "operator",
      tenant_id: "t1",
      created_at: expect.any(Number),
    });
    expect(response.body).not.toContain("argon2");
    const session = await service.login("t1", "Nadia");
    const me = await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session });
    expect(me.json().user.role).toBe("operator");
  });

  it("refuses a username taken in the tenant, whatever its case, with 409 CONFLICT; another tenant may use it", async () => {
    await create({ username: "dup", password: PASSWORD, role: "viewer" });
    const again = await create({ username: "DUP", password: PASSWORD, role: "viewer" });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("CONFLICT");
    const t2Admin = await service.login("t2", "admin");
    const other = await service.request({
      method: "POST",
      url: "/api/users",
      tenant: "t2",
      session: t2Admin,
      payload: { username: "dup", password: PASSWORD, role: "viewer" },
    });
    expect(other.statusCode).toBe(201);
  });

  it("pages the tenant's users with a cursor", async () => {
    for (let i = 0; i < 4; i++) await create({ username: `pager-${i}`, password: PASSWORD, role: "viewer" });
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await service.request({
        method: "GET",
        url: `/api/users?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        tenant: "t1",
        session: admin,
      });
      const body = response.json();
      expect(body.users.length).toBeLessThanOrEqual(3);
      names.push(...body.users.map((u: { username: string }) => u.username));
      cursor = body.next_cursor;
    } while (cursor);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["admin", "operator", "viewer", "pager-0", "pager-3"]));
  });

  it("deletes a user, ending their sessions, and refuses to let an admin delete themselves", async () => {
    const created = (await create({ username: "leaver", password: PASSWORD, role: "viewer" })).json().user;
    const theirs = await service.login("t1", "leaver");
    const deleted = await service.request({
      method: "DELETE",
      url: `/api/users/${created.id}`,
      tenant: "t1",
      session: admin,
    });
    expect(deleted.statusCode).toBe(200);
    expect(
      (await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: theirs }))
        .statusCode,
    ).toBe(401);
    expect(
      (
        await service.request({
          method: "DELETE",
          url: `/api/users/${created.id}`,
          tenant: "t1",
          session: admin,
        })
      ).statusCode,
    ).toBe(404);
    const self = await service.request({
      method: "DELETE",
      url: `/api/users/${service.t1.users.admin.id}`,
      tenant: "t1",
      session: admin,
    });
    expect(self.statusCode).toBe(409);
  });

  it("audits user changes with who did them", async () => {
    const audit = await service.router.stores.audit.query("t1", { action: "user.create", limit: 50 });
    expect(audit.items.length).toBeGreaterThan(0);
    expect(audit.items.every((entry) => entry.user_id === service.t1.users.admin.id)).toBe(true);
  });
});
