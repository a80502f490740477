import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "../testing/service.js";

describe("routing flags over HTTP: a tenant's admin reads them, never changes them", () => {
  let service: TestService;
  let admin: string;
  beforeAll(async () => {
    // Starts with every area on SQLite, Firestore configured (a fresh emulator project).
    service = await startTestService("sqlite");
    admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  it("reports the flags and the store of each area", async () => {
    const response = await service.request({
      method: "GET",
      url: "/api/admin/flags",
      tenant: "t1",
      session: admin,
    });
    expect(response.json()).toEqual({
      flags: { telemetry: false, audit: false, auth: false, telemetry_dual_write: false },
      stores: { auth: "sqlite", audit: "sqlite", telemetry: "sqlite" },
      firestore_configured: true,
    });
  });

  it("refuses a tenant admin's change with 403 FORBIDDEN, audited in the tenant's log and the platform's, and moves nothing", async () => {
    for (const body of [{ auth: false }, { telemetry: true }, { auth: true, audit: true }]) {
      const response = await service.request({
        method: "PUT",
        url: "/api/admin/flags",
        tenant: "t1",
        session: admin,
        payload: body,
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toMatchObject({
        code: "FORBIDDEN",
        message: expect.stringContaining("firebrick flags set"),
      });
    }
    expect(service.flags.current()).toEqual({
      telemetry: false,
      audit: false,
      auth: false,
      telemetry_dual_write: false,
    });
    expect((await service.fleet.flags.load())?.flags).toMatchObject({ telemetry: false, auth: false });
    const tenantLog = await service.router.stores.audit.query("t1", {
      action: "flags.update_denied",
      limit: 10,
    });
    expect(tenantLog.items).toHaveLength(3);
    expect(tenantLog.items[0]).toMatchObject({
      user_id: service.t1.users.admin.id,
      outcome: "denied",
      target: "flags",
    });
    const platformLog = await service.fleet.platformAudit.list({ limit: 10 });
    expect(platformLog.items.map((entry) => [entry.action, entry.outcome, entry.actor])).toEqual(
      Array(3).fill(["flags.update_denied", "denied", `user:${service.t1.users.admin.id}@t1`]),
    );
    // The admin stays signed in: nothing about the refusal touches sessions.
    const me = await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: admin });
    expect(me.statusCode).toBe(200);
  });

  it("still validates the body first: unknown flags, non-booleans and an empty change are VALIDATION_FAILED", async () => {
    for (const body of [{ bogus: true }, { telemetry: "maybe" }, {}]) {
      const response = await service.request({
        method: "PUT",
        url: "/api/admin/flags",
        tenant: "t1",
        session: admin,
        payload: body,
      });
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
  });
});
