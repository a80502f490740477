import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../test/firestore.js";
import { DEFAULT_BOOTSTRAP_CONFIG, reconcileBootstrapDocument } from "./bootstrap/index.js";
import { loadConfig } from "./config/env.js";
import { createLogger } from "./observability/logger.js";
import { startServer } from "./server.js";
import { tokenHash } from "./sessions/tokens.js";
import { ENDPOINTS } from "./testing/endpoints.js";
import { PASSWORD, startTestService, type TestService, testPasswords } from "./testing/service.js";

describe("the API description", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService("sqlite", { withoutFirestore: true });
  }, 60_000);
  afterAll(() => service?.close());

  it("serves an OpenAPI 3 document at /api/openapi.json, without a tenant, listing every endpoint with its schemas", async () => {
    const response = await service.request({ method: "GET", url: "/api/openapi.json", tenant: null });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    for (const endpoint of ENDPOINTS) {
      const path = endpoint.path.replace(/:(\w+)/g, "{$1}");
      expect(
        document.paths[path]?.[endpoint.method.toLowerCase()],
        `${endpoint.method} ${path}`,
      ).toBeDefined();
    }
    const login = document.paths["/api/auth/login"].post;
    expect(login.requestBody.content["application/json"].schema.required).toEqual(["username", "password"]);
    const read =
      document.paths["/api/devices/{id}/telemetry"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(read.properties)).toEqual(["points", "next_cursor"]);
    expect(document.paths["/api/devices"].post.responses["201"]).toBeDefined();
    expect(document.paths["/api/devices/{id}/telemetry"].post.security).toContainEqual({
      tenant: [],
      device: [],
    });
    expect(document.components.securitySchemes.tenant).toMatchObject({
      in: "header",
      name: expect.stringMatching(/^x-bas-tenant$/i),
    });
  });
});

describe("logs", () => {
  it("never contain a password, a session or device token, or a hash, even at trace level", async () => {
    let logged = "";
    const logger = createLogger(
      "trace",
      new Writable({
        write(chunk, _e, done) {
          logged += chunk;
          done();
        },
      }),
    );
    const service = await startTestService("sqlite", { withoutFirestore: true, logger });
    try {
      const session = await service.login("t1", "admin");
      await service.request({
        method: "POST",
        url: "/api/auth/login",
        tenant: "t1",
        payload: { username: "admin", password: "wrong-password-123" },
      });
      const created = (
        await service.request({
          method: "POST",
          url: "/api/devices",
          tenant: "t1",
          session,
          payload: { name: "AHU" },
        })
      ).json();
      await service.request({
        method: "POST",
        url: `/api/devices/${created.device.id}/telemetry`,
        tenant: "t1",
        headers: { authorization: `Bearer ${created.token}` },
        payload: { points: [{ timestamp_ms: service.clock.now, metrics: { t: 1 } }] },
      });
      const user = await service.router.stores.users.get("t1", service.t1.users.admin.id);
      const device = await service.router.stores.devices.get("t1", created.device.id);
      expect(logged.length).toBeGreaterThan(0);
      for (const secret of [
        PASSWORD,
        "wrong-password-123",
        session,
        tokenHash(session),
        created.token,
        device!.token_hash,
        user!.password_hash,
      ]) {
        expect(logged).not.toContain(secret);
      }
    } finally {
      await service.close();
    }
  });
});

describe("startServer", () => {
  const quiet = () => createLogger("silent");

  it("creates tenant demo and an admin on first run, prints the password once, and that password signs in", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "firebrick-first-run-"));
    const config = loadConfig({ FIREBRICK_DATA_DIR: dataDir, PORT: "0" });
    const printed: string[] = [];
    const server = await startServer(config, quiet(), {
      passwords: testPasswords(),
      print: (text) => printed.push(text),
    });
    try {
      expect(printed).toHaveLength(1);
      const password = /Password[^:]*: (\S+)/.exec(printed[0]!)?.[1];
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-bas-tenant": "demo" },
        body: JSON.stringify({ username: "admin", password }),
      });
      expect(login.status).toBe(200);
      expect((await login.json()).user).toMatchObject({
        username: "admin",
        role: "admin",
        tenant_id: "demo",
      });
      const ready = await (await fetch(`${server.url}/readyz`)).json();
      expect(ready).toEqual({
        status: "ready",
        checks: { sqlite: { status: "ok" } },
        stores: { auth: "sqlite", audit: "sqlite", telemetry: "sqlite" },
      });
    } finally {
      await server.close();
    }
    const again = await startServer(config, quiet(), {
      passwords: testPasswords(),
      print: (text) => printed.push(text),
    });
    await again.close();
    expect(printed).toHaveLength(1);
  });

  it("reports each area's store in /readyz and, with an area on Firestore, fails until the bootstrap document is compatible", async () => {
    const projectId = uniqueProjectId("readyz");
    const config = loadConfig({
      FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-readyz-")),
      PORT: "0",
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: projectId,
      USE_FIRESTORE_AUDIT: "1",
    });
    const server = await startServer(config, quiet(), { passwords: testPasswords(), print: () => undefined });
    try {
      const before = await fetch(`${server.url}/readyz`);
      expect(before.status).toBe(503);
      const body = await before.json();
      expect(body.stores).toEqual({ auth: "sqlite", audit: "firestore", telemetry: "sqlite" });
      expect(body.checks.bootstrap).toEqual({ status: "failed", reason: "missing" });
      await reconcileBootstrapDocument(server.stores.firestore!, DEFAULT_BOOTSTRAP_CONFIG, {
        preflight: false,
      });
      const after = await fetch(`${server.url}/readyz`);
      expect(after.status).toBe(200);
      expect((await after.json()).checks).toEqual({
        sqlite: { status: "ok" },
        firestore: { status: "ok" },
        bootstrap: { status: "ok" },
      });
    } finally {
      await server.close();
    }
  });
});
