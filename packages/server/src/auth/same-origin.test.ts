// Defence in depth (issue 15, item 7) through a real port, on both stores: cookie-authenticated writes
// from another origin are refused whatever the tenant header says; curl (no Origin, no Sec-Fetch-Site)
// and devices (bearer tokens) are not browsers and pass; behind a trusted proxy the origin the client used
// is X-Forwarded-Host's; answers that carry a device token are never stored by a cache.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CallOptions, call, createDevices } from "../../../../test/reliability/support.js";
import { backendEnv, startTestServer, type TestServer } from "../testing/server.js";
import { BACKENDS } from "../testing/service.js";

const TENANT = "demo";
const EVIL = "https://evil.example";

const code = (body: unknown) => (body as { error?: { code: string } }).error?.code;

describe.each(BACKENDS)("same-origin writes and uncacheable tokens (%s)", (backend) => {
  let server: TestServer;
  let session: string;
  let self: string;
  beforeAll(async () => {
    server = await startTestServer(backendEnv(backend, "same-origin"));
    self = server.url;
    session = (
      await call(server.url, "POST", "/api/auth/login", {
        tenant: TENANT,
        body: { username: "admin", password: server.adminPassword },
      })
    ).session!;
  }, 60_000);
  afterAll(() => server?.close());

  const createDevice = (headers: Record<string, string>, extra: CallOptions = {}) =>
    call(server.url, "POST", "/api/devices", {
      tenant: TENANT,
      session,
      body: { name: "VAV" },
      headers,
      ...extra,
    });
  const deviceCount = async () =>
    (
      (await call(server.url, "GET", "/api/devices", { tenant: TENANT, session })).body as {
        devices: unknown[];
      }
    ).devices.length;

  it("refuses a cookie-authenticated write from another origin or site with 403 FORBIDDEN, changing nothing", async () => {
    const before = await deviceCount();
    for (const headers of [
      { origin: EVIL },
      { origin: EVIL, "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "null" },
      { origin: self.replace("127.0.0.1", "localhost") },
      { origin: self, "sec-fetch-site": "cross-site" },
    ]) {
      const reply = await createDevice(headers);
      expect(reply.status, JSON.stringify(headers)).toBe(403);
      expect(code(reply.body)).toBe("FORBIDDEN");
    }
    expect(await deviceCount()).toBe(before);
    // Signing in is a write too: a page elsewhere cannot sign a browser into an account (login CSRF).
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password: server.adminPassword },
      headers: { origin: EVIL, "sec-fetch-site": "cross-site" },
    });
    expect(login.status).toBe(403);
    expect(login.session).toBeUndefined();
  });

  it("accepts the same write from its own origin, and from a client that is no browser (no Origin, no Sec-Fetch-Site)", async () => {
    expect((await createDevice({ origin: self, "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await createDevice({ origin: self })).status).toBe(201);
    expect((await createDevice({ "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await createDevice({})).status).toBe(201);
    // Reads change nothing: the origin is not asked.
    expect(
      (await call(server.url, "GET", "/api/devices", { tenant: TENANT, session, headers: { origin: EVIL } }))
        .status,
    ).toBe(200);
  });

  it("lets a device write with its bearer token whatever Origin says (no ambient credential)", async () => {
    const [device] = await createDevices(server.url, { tenant: TENANT, session, count: 1 });
    const reply = await call(server.url, "POST", `/api/devices/${device!.id}/telemetry`, {
      tenant: TENANT,
      bearer: device!.token,
      body: { points: [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 21 } }] },
      headers: { origin: EVIL, "sec-fetch-site": "cross-site" },
    });
    expect(reply.status).toBe(202);
  });

  it("marks the answers that carry a device token (create, rotation) Cache-Control: no-store", async () => {
    const created = await createDevice({});
    expect(created.status).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const id = (created.body as { device: { id: string } }).device.id;
    const rotated = await call(server.url, "POST", `/api/devices/${id}/token`, { tenant: TENANT, session });
    expect(rotated.status).toBe(200);
    expect((rotated.body as { token: string }).token).toMatch(/^fbd_/);
    expect(rotated.headers["cache-control"]).toBe("no-store");
  });
});

describe("the origin the client used, behind a proxy", () => {
  const PUBLIC = "https://bas.example.com";
  const signIn = async (server: TestServer, headers: Record<string, string>) =>
    call(server.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password: server.adminPassword },
      headers,
    });

  it("is X-Forwarded-Host's when the peer is a trusted proxy (FIREBRICK_TRUST_PROXY), Host's otherwise", async () => {
    const proxied = await startTestServer({ FIREBRICK_TRUST_PROXY: "loopback" });
    const direct = await startTestServer();
    try {
      const behindProxy = { host: "firebrick.internal:8080", "x-forwarded-host": "bas.example.com" };
      expect((await signIn(proxied, { ...behindProxy, origin: PUBLIC })).status).toBe(200);
      expect(
        (await signIn(proxied, { ...behindProxy, origin: "https://firebrick.internal:8080" })).status,
      ).toBe(403);
      // From a peer that is not a trusted proxy, X-Forwarded-Host is anyone's to write: Host decides.
      expect((await signIn(direct, { ...behindProxy, origin: PUBLIC })).status).toBe(403);
      expect(
        (await signIn(direct, { ...behindProxy, origin: "http://firebrick.internal:8080" })).status,
      ).toBe(200);
    } finally {
      await proxied.close();
      await direct.close();
    }
  }, 60_000);
});
