import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../stores/types.js";
import { ENDPOINTS, freshTarget, label, url } from "../testing/endpoints.js";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";

const ROLES: Role[] = ["admin", "operator", "viewer"];

describe.each(BACKENDS)("roles on every endpoint (%s)", (backend) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(backend, { deviceWritesPerMinute: 1000 });
  }, 60_000);
  afterAll(() => service?.close());

  const cases = ENDPOINTS.filter((e) => e.roles !== "public").flatMap((endpoint) =>
    ROLES.map((role) => [label(endpoint), role, endpoint] as const),
  );

  it.each(cases)("%s as %s", async (_name, role, endpoint) => {
    const session = await service.login("t1", role);
    const id = endpoint.target ? await freshTarget(service, "t1", endpoint.target) : undefined;
    const response = await service.request({
      method: endpoint.method,
      url: url(endpoint, id),
      tenant: "t1",
      session,
      ...(endpoint.body && { payload: (await endpoint.body(service)) as object }),
    });
    const allowed = (endpoint.roles as readonly Role[]).includes(role);
    if (allowed) {
      expect(response.statusCode, response.body).toBeLessThan(300);
    } else {
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe("FORBIDDEN");
    }
  });

  it("answers 401 UNAUTHENTICATED to every non-public endpoint without a session", async () => {
    for (const endpoint of ENDPOINTS.filter((e) => e.roles !== "public")) {
      const response = await service.request({
        method: endpoint.method,
        url: url(endpoint, service.t1.device.id),
        tenant: "t1",
      });
      expect(response.statusCode, label(endpoint)).toBe(401);
      expect(response.json().error.code).toBe("UNAUTHENTICATED");
    }
  });

  it("accepts a device token only for that device's telemetry writes", async () => {
    const bearer = { authorization: `Bearer ${service.t1.deviceToken}` };
    for (const endpoint of ENDPOINTS.filter((e) => e.roles !== "public" && !e.device)) {
      const response = await service.request({
        method: endpoint.method,
        url: url(endpoint, service.t1.device.id),
        tenant: "t1",
        headers: bearer,
        ...(endpoint.body && { payload: (await endpoint.body(service)) as object }),
      });
      expect(response.statusCode, label(endpoint)).toBe(401);
    }
  });

  it("records refused role checks in the audit log", async () => {
    const session = await service.login("t1", "viewer");
    await service.request({ method: "GET", url: "/api/audit", tenant: "t1", session });
    const audit = await service.router.stores.audit.query("t1", {
      action: "authz.denied",
      user_id: service.t1.users.viewer.id,
      limit: 5,
    });
    expect(audit.items.length).toBeGreaterThan(0);
  });
});
