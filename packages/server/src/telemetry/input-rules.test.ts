// Input that reached the stores and came back as a 500 (issue 15, item 4), through a real port on both
// stores: one rule for metric names, numeric query parameters bounded to safe integers, well-formed text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Reply } from "../../../../test/reliability/support.js";
import { backendEnv, startTestServer, type TestServer } from "../testing/server.js";
import { BACKENDS } from "../testing/service.js";

const TENANT = "demo";

describe.each(BACKENDS)("input the stores cannot take is a 400, never a 500 (%s)", (backend) => {
  let server: TestServer;
  let session: string;
  let device: { id: string; token: string };
  beforeAll(async () => {
    server = await startTestServer(backendEnv(backend, "input-rules"));
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password: server.adminPassword },
    });
    session = login.session!;
    const created = await call(server.url, "POST", "/api/devices", {
      tenant: TENANT,
      session,
      body: { name: "AHU-1" },
    });
    const body = created.body as { device: { id: string }; token: string };
    device = { id: body.device.id, token: body.token };
  }, 60_000);
  afterAll(() => server?.close());

  const errorCode = (reply: Reply) => (reply.body as { error?: { code: string } }).error?.code;
  const write = (metrics: Record<string, number>) =>
    call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
      tenant: TENANT,
      bearer: device.token,
      body: { points: [{ timestamp_ms: Date.now(), metrics }] },
    });
  const read = (query: string) =>
    call(server.url, "GET", `/api/devices/${device.id}/telemetry?${query}`, { tenant: TENANT, session });

  it("refuses a metric name Firestore reserves (`__…__`) with 400 VALIDATION_FAILED, and stores nothing of it", async () => {
    for (const name of ["__x__", "__name__", "__.__"]) {
      const reply = await write({ [name]: 1, zone_temp_c: 21.5 });
      expect(reply.status, name).toBe(400);
      expect(errorCode(reply)).toBe("VALIDATION_FAILED");
    }
    expect((await read("limit=100")).body).toEqual({ points: [], next_cursor: null });
    // Names that only look alike are fine on both stores.
    expect((await write({ __x: 1, x__: 2, a__b__c: 3 })).status).toBe(202);
  });

  it("answers 400 for window bounds past 2^53 or not finite, and for repeated or empty numbers", async () => {
    for (const query of [
      "to=99999999999999999999",
      "to=9007199254740993",
      "to=9007199254740992",
      "to=1e21",
      "from=0&to=Infinity",
      "limit=Infinity",
      "limit=5&limit=6",
      "to=",
      "from=-1",
    ]) {
      const reply = await read(query);
      expect(reply.status, query).toBe(400);
      expect(errorCode(reply), query).toBe("VALIDATION_FAILED");
    }
    // The largest safe integer is a valid (if distant) window end.
    expect((await read("to=9007199254740991")).status).toBe(200);
  });

  it("refuses text that is not well-formed Unicode (an unpaired surrogate) in a body or a query", async () => {
    const named = await call(server.url, "POST", "/api/devices", {
      tenant: TENANT,
      session,
      rawBody: '{"name":"AHU-\\ud800"}',
    });
    expect(named.status).toBe(400);
    expect(errorCode(named)).toBe("VALIDATION_FAILED");
    const audit = await call(server.url, "GET", "/api/audit?user_id=%ED%A0%80", { tenant: TENANT, session });
    expect(audit.status).toBeLessThan(500);
    // Well-formed text beyond ASCII is kept as sent.
    const accented = await call(server.url, "POST", "/api/devices", {
      tenant: TENANT,
      session,
      body: { name: "Lüftung 👩‍🔧" },
    });
    expect(accented.status).toBe(201);
    expect((accented.body as { device: { name: string } }).device.name).toBe("Lüftung 👩‍🔧");
  });

  it("answers a URL that does not decode with 400 in the one error format", async () => {
    const reply = await call(server.url, "GET", "/api/devices/%ED%A0%80", { tenant: TENANT, session });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: { code: "VALIDATION_FAILED", message: expect.any(String), request_id: expect.any(String) },
    });
  });
});
