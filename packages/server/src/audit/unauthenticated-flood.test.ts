// An unauthenticated audit flood (issue 15, item 3) through a real port, on both stores: a device id sent
// with a junk token under other tenants' headers is refused as before (403), but writes no audit entry
// under a tenant that does not exist, and at most 10 a minute per client address under one that does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createDevices } from "../../../../test/reliability/support.js";
import { backendEnv, startTestServer, type TestServer } from "../testing/server.js";
import { BACKENDS } from "../testing/service.js";
import { UNAUTHENTICATED_AUDITS_PER_MINUTE } from "./recorder.js";

const JUNK = "fbd_junk-token-that-is-no-device-token";

describe.each(BACKENDS)("refusals without a valid credential do not flood the audit log (%s)", (backend) => {
  let server: TestServer;
  let device: { id: string; token: string };
  beforeAll(async () => {
    server = await startTestServer(backendEnv(backend, "audit-flood"));
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: "demo",
      body: { username: "admin", password: server.adminPassword },
    });
    [device] = await createDevices(server.url, { tenant: "demo", session: login.session!, count: 1 });
    await server.server.stores.router.stores.tenants.create({ id: "neighbour" });
  }, 60_000);
  afterAll(() => server?.close());

  const stores = () => server.server.stores.router.stores;
  const violations = async (tenant: string) =>
    (await stores().audit.query(tenant, { action: "tenant.violation", limit: 1000 })).items;
  const probe = (tenant: string, from: string) =>
    call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
      tenant,
      bearer: JUNK,
      from,
      body: { points: [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 21 } }] },
    });

  it("writes no audit entry under a tenant that does not exist, and answers as before", async () => {
    for (let i = 0; i < 12; i++) {
      const reply = await probe(`ghost-tenant-${i}`, `127.0.30.${i + 1}`);
      expect(reply.status).toBe(403);
      expect((reply.body as { error: { code: string } }).error.code).toBe("TENANT_MISMATCH");
    }
    for (let i = 0; i < 12; i++) expect(await violations(`ghost-tenant-${i}`)).toEqual([]);
  });

  it("audits unauthenticated violations under a real tenant at most 10 a minute per client address", async () => {
    for (let i = 0; i < 15; i++) expect((await probe("neighbour", "127.0.31.1")).status).toBe(403);
    const fromOne = await violations("neighbour");
    expect(fromOne).toHaveLength(UNAUTHENTICATED_AUDITS_PER_MINUTE);
    expect(fromOne[0]).toMatchObject({
      outcome: "denied",
      ip: "127.0.31.1",
      target: `device:${device.id}`,
      details: { reason: "device_tenant_mismatch" },
    });
    // Another address has a budget of its own.
    expect((await probe("neighbour", "127.0.32.1")).status).toBe(403);
    expect(await violations("neighbour")).toHaveLength(UNAUTHENTICATED_AUDITS_PER_MINUTE + 1);
  });
});
