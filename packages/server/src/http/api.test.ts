import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/env.js";
import { createLogger } from "../observability/logger.js";
import { startServer } from "../server.js";
import { ENDPOINTS } from "./testing/endpoints.js";
import { startTestService, type TestService, testPasswords } from "./testing/service.js";

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
      const path = endpoint.path.replace(":id", "{id}");
      expect(
        document.paths[path]?.[endpoint.method.toLowerCase()],
        `${endpoint.method} ${path}`,
      ).toBeDefined();
    }
    const login = document.paths["/api/auth/login"].post;
    expect(login.requestBody.content["application/json"].schema.required).toEqual(["username", "password"]);
    expect(document.components.securitySchemes.tenant).toMatchObject({
      in: "header",
      name: expect.stringMatching(/^x-bas-tenant$/i),
    });
  });
});

describe("startServer", () => {
  const quiet = () =>
    createLogger(
      "silent",
      new Writable({
        write(_c, _e, done) {
          done();
        },
      }),
    );

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
});
