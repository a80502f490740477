import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINTS, freshTarget, label, url } from "../testing/endpoints.js";
import { BACKENDS, PASSWORD, startTestService, type TestService } from "../testing/service.js";

describe.each(BACKENDS)("tenant isolation over HTTP (%s)", (backend) => {
  let service: TestService;
  let t1Admin: string;
  beforeAll(async () => {
    service = await startTestService(backend);
    t1Admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  const violations = async (tenant: string) =>
    (await service.router.stores.audit.query(tenant, { action: "tenant.violation", limit: 1000 })).items
      .length;

  /** Sends the call, expects 403 TENANT_MISMATCH with nothing else in the body, and one new audit entry. */
  async function expectRefusedAndAudited(
    auditTenant: string,
    call: Parameters<TestService["request"]>[0],
  ): Promise<void> {
    const before = await violations(auditTenant);
    const response = await service.request(call);
    expect(response.statusCode, `${call.method} ${call.url}: ${response.body}`).toBe(403);
    expect(response.json()).toEqual({
      error: { code: "TENANT_MISMATCH", message: expect.any(String), request_id: expect.any(String) },
    });
    expect(await violations(auditTenant)).toBe(before + 1);
  }

  it("requires the tenant header on every /api endpoint, login included: 400 TENANT_REQUIRED", async () => {
    for (const endpoint of ENDPOINTS) {
      const response = await service.request({
        method: endpoint.method,
        url: url(endpoint, service.t1.device.id),
        tenant: null,
        session: t1Admin,
        ...(endpoint.body && { payload: (await endpoint.body(service)) as object }),
      });
      expect(response.statusCode, label(endpoint)).toBe(400);
      expect(response.json().error.code, label(endpoint)).toBe("TENANT_REQUIRED");
    }
    const unknown = await service.request({ method: "GET", url: "/api/no-such-thing", tenant: null });
    expect(unknown.json().error.code).toBe("TENANT_REQUIRED");
    const unknownWithTenant = await service.request({
      method: "GET",
      url: "/api/no-such-thing",
      tenant: "t1",
    });
    expect(unknownWithTenant.json().error.code).toBe("NOT_FOUND");
    const malformed = await service.request({
      method: "GET",
      url: "/api/auth/me",
      tenant: "t1/../t2",
      session: t1Admin,
    });
    expect(malformed.json().error.code).toBe("TENANT_REQUIRED");
  });

  const withSession = ENDPOINTS.filter((endpoint) => endpoint.roles !== "public");

  it.each(withSession.map((e) => [label(e), e] as const))(
    "%s: a session of tenant t1 under the header of t2 is refused with 403 and audited in t2",
    async (_name, endpoint) => {
      const id = endpoint.target ? await freshTarget(service, "t2", endpoint.target) : undefined;
      await expectRefusedAndAudited("t2", {
        method: endpoint.method,
        url: url(endpoint, id),
        tenant: "t2",
        session: t1Admin,
        ...(endpoint.body && { payload: (await endpoint.body(service)) as object }),
      });
    },
  );

  const targeted = ENDPOINTS.filter((endpoint) => endpoint.target);

  it.each(targeted.map((e) => [label(e), e] as const))(
    "%s: t1's admin naming a resource of t2 is refused with 403, audited in t1, and t2's resource is untouched",
    async (_name, endpoint) => {
      const id = await freshTarget(service, "t2", endpoint.target!);
      await expectRefusedAndAudited("t1", {
        method: endpoint.method,
        url: url(endpoint, id),
        tenant: "t1",
        session: t1Admin,
        ...(endpoint.body && { payload: (await endpoint.body(service)) as object }),
      });
      const { stores } = service.router;
      const still = {
        device: () => stores.devices.get("t2", id),
        user: () => stores.users.get("t2", id),
        alarm_rule: () => service.alarms.getRule("t2", id),
        alarm: () => service.alarms.getAlarm("t2", id),
        webhook: () => service.webhooks.get("t2", id),
      }[endpoint.target!];
      expect(await still()).toMatchObject({ id, tenant_id: "t2" });
      if (endpoint.target === "user") expect(await still()).toMatchObject({ role: "viewer" });
      if (endpoint.target === "alarm")
        expect(await still()).toMatchObject({ state: "active", acknowledged_by: null });
    },
  );

  it("refuses device tokens across tenants in every combination, each audited", async () => {
    const telemetry = (id: string) => `/api/devices/${id}/telemetry`;
    const payload = { points: [{ timestamp_ms: service.clock.now, metrics: { t: 1 } }] };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    // t2's token, t1's header, t2's device.
    await expectRefusedAndAudited("t1", {
      method: "POST",
      url: telemetry(service.t2.device.id),
      tenant: "t1",
      headers: bearer(service.t2.deviceToken),
      payload,
    });
    // t1's token, t1's header, t2's device.
    await expectRefusedAndAudited("t1", {
      method: "POST",
      url: telemetry(service.t2.device.id),
      tenant: "t1",
      headers: bearer(service.t1.deviceToken),
      payload,
    });
    // t1's token and device, under t2's header.
    await expectRefusedAndAudited("t2", {
      method: "POST",
      url: telemetry(service.t1.device.id),
      tenant: "t2",
      headers: bearer(service.t1.deviceToken),
      payload,
    });
    // Nothing was written to either device.
    expect(await service.router.stores.telemetry.latest("t1", service.t1.device.id, 10)).toEqual([]);
    expect(await service.router.stores.telemetry.latest("t2", service.t2.device.id, 10)).toEqual([]);
  });

  it("does not let t1's credentials sign in under t2's header", async () => {
    const response = await service.request({
      method: "POST",
      url: "/api/auth/login",
      tenant: "t2",
      payload: { username: "admin", password: "wrong" },
    });
    expect(response.statusCode).toBe(401);
    // t2 has its own "admin" user: the same name signs in to t2's account, never t1's.
    const own = await service.request({
      method: "POST",
      url: "/api/auth/login",
      tenant: "t2",
      payload: { username: "admin", password: PASSWORD },
    });
    expect(own.json().user).toMatchObject({ tenant_id: "t2", id: service.t2.users.admin.id });
  });

  it("lists only the caller's tenant in every collection endpoint", async () => {
    // (The audit log is left out: t1's own log names the ids t1's callers tried to reach.)
    for (const path of ["/api/users", "/api/devices"]) {
      const response = await service.request({
        method: "GET",
        url: `${path}?limit=1000`,
        tenant: "t1",
        session: t1Admin,
      });
      expect(response.statusCode).toBe(200);
      const body = JSON.stringify(response.json());
      expect(body).not.toContain(service.t2.users.admin.id);
      expect(body).not.toContain(service.t2.device.id);
      for (const item of response.json().users ?? response.json().devices ?? [])
        expect(item.tenant_id).toBe("t1");
    }
  });
});
