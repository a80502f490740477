import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config/env.js";
import { ERRORS } from "./errors.js";
import { errorCodesOf, operationIdOf, registeredRoutes } from "./http/openapi.js";
import { createLogger } from "./observability/logger.js";
import { type RunningServer, startServer } from "./server.js";
import { testPasswords } from "./testing/service.js";

const repository = fileURLToPath(new URL("../../../", import.meta.url));

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>;
}
type Document = {
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

describe("the OpenAPI document the server serves", () => {
  let server: RunningServer;
  let document: Document;
  let file: string;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "firebrick-openapi-"));
    server = await startServer(
      loadConfig({ FIREBRICK_DATA_DIR: dataDir, PORT: "0" }),
      createLogger("silent"),
      { passwords: testPasswords(), print: () => {} },
    );
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as Document;
    file = join(dataDir, "openapi.json");
    writeFileSync(file, JSON.stringify(document));
  }, 60_000);
  afterAll(() => server?.close());

  it("passes `redocly lint` with the repository's redocly.yaml: no error, no warning", async () => {
    const { stdout } = await promisify(execFile)(
      join(repository, "node_modules/.bin/redocly"),
      ["lint", "--config", join(repository, "redocly.yaml"), "--format", "json", file],
      // No telemetry, no update check: CI has no network to spend on them.
      { env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } },
    ).catch((error: { stdout: string }) => error);
    const report = JSON.parse(stdout) as { totals: unknown; problems: { ruleId: string; message: string }[] };
    expect(
      report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`),
      "redocly lint problems",
    ).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  }, 60_000);

  it("describes every registered route: an operationId, a summary, described tags, its error responses", () => {
    const routes = registeredRoutes(server.app).filter((route) => route.method !== "HEAD");
    const tags = new Map(document.tags.map((tag) => [tag.name, tag.description]));
    const ids = new Set<string>();
    const described: string[] = [];
    for (const route of routes) {
      const path = route.url.replace(/:(\w+)/g, "{$1}");
      const operation = document.paths[path]?.[route.method.toLowerCase()];
      const name = `${route.method} ${route.url}`;
      if (route.hidden) {
        // The static files of the dashboard, and the document itself: nothing else may hide.
        expect(route.url === "/api/openapi.json" || !route.url.startsWith("/api"), name).toBe(true);
        continue;
      }
      described.push(name);
      expect(operation, `${name} is in the document`).toBeDefined();
      expect(operation!.operationId, name).toBe(operationIdOf(route.method, route.url));
      expect(ids.has(operation!.operationId!), `${name}: operationId unique`).toBe(false);
      ids.add(operation!.operationId!);
      expect(operation!.summary, `${name}: summary`).toMatch(/\S/);
      expect(operation!.tags?.length, `${name}: tags`).toBeGreaterThan(0);
      for (const tag of operation!.tags!)
        expect(tags.get(tag), `${name}: tag ${tag} described`).toMatch(/\S/);
      expect(
        Object.keys(operation!.responses).some((status) => /^2/.test(status)),
        `${name}: a 2xx`,
      ).toBe(true);
      if (route.url.startsWith("/api/")) {
        const errors = Object.entries(operation!.responses).filter(([status]) => Number(status) >= 400);
        expect(errors.length, `${name}: error responses`).toBeGreaterThan(0);
        for (const [status, response] of errors) {
          expect(response.content?.["application/json"]?.schema.$ref, `${name} ${status}`).toBe(
            "#/components/schemas/Error",
          );
        }
      }
    }
    expect(described).toEqual(
      expect.arrayContaining([
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "POST /api/auth/login",
        "POST /api/devices/:id/telemetry",
      ]),
    );
    expect(Object.keys(document.components.schemas)).toContain("Error");
  });

  it("derives each operation's error codes and security from its declaration", () => {
    const write = document.paths["/api/devices/{id}/telemetry"]!.post!;
    expect(Object.keys(write.responses)).toEqual([
      "202",
      "400",
      "401",
      "403",
      "404",
      "413",
      "415",
      "429",
      "503",
    ]);
    expect(write.responses["403"]!.description).toContain("`TENANT_MISMATCH`");
    expect(write.security).toEqual([
      { tenant: [], device: [] },
      { tenant: [], session: [] },
    ]);
    const login = document.paths["/api/auth/login"]!.post!;
    expect(login.security).toEqual([{ tenant: [] }]);
    expect(login.responses["401"]!.description).toBe("`INVALID_CREDENTIALS`: Invalid username or password.");
    // Any role may list devices: no FORBIDDEN. Only admins list users.
    expect(document.paths["/api/devices"]!.get!.responses["403"]!.description).not.toContain("FORBIDDEN");
    expect(document.paths["/api/users"]!.get!.responses["403"]!.description).toContain("`FORBIDDEN`");
    expect(document.paths["/healthz"]!.get!.security).toEqual([]);

    expect(errorCodesOf("GET", "/api/things/:id", undefined, { security: { auth: "session" } })).toEqual([
      "NOT_FOUND",
      "TENANT_MISMATCH",
      "TENANT_REQUIRED",
      "UNAUTHENTICATED",
      "UNAVAILABLE",
    ]);
    expect(operationIdOf("GET", "/api/devices/:id/telemetry.csv")).toBe("getDevicesByIdTelemetryCsv");
    for (const code of errorCodesOf("POST", "/api/x", undefined, { errors: ["CONFLICT"] }))
      expect(ERRORS[code]).toBeDefined();
  });
});
