import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config/env.js";
import { createLogger } from "./observability/logger.js";
import { type RunningServer, startServer } from "./server.js";
import { testPasswords } from "./testing/service.js";

const run = promisify(execFile);
const repository = fileURLToPath(new URL("../../../", import.meta.url));
const tsc = join(repository, "node_modules/.bin/tsc");

/** What an integrator writes against the generated types: sign in, register a device, write, read. */
const PROGRAM = `
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

const [baseUrl, password] = process.argv.slice(2) as [string, string];
const tenant = { "X-BAS-Tenant": "demo" };

const anonymous = createClient<paths>({ baseUrl, headers: tenant });
const login = await anonymous.POST("/api/auth/login", { body: { username: "admin", password } });
if (!login.data) throw new Error(\`sign-in failed: \${login.error?.error.code}\`);
const role: "admin" | "operator" | "viewer" = login.data.user.role;
const cookie = login.response.headers.getSetCookie()[0]!.split(";")[0]!;

const admin = createClient<paths>({ baseUrl, headers: { ...tenant, cookie } });
const created = await admin.POST("/api/devices", { body: { name: "AHU-1" } });
if (!created.data) throw new Error(\`registering failed: \${created.error?.error.code}\`);
const { device, token } = created.data;

const written = await anonymous.POST("/api/devices/{id}/telemetry", {
  params: { path: { id: device.id } },
  headers: { authorization: \`Bearer \${token}\` },
  body: { points: [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 21.5, co2_ppm: 640 } }] },
});
if (!written.data) throw new Error(\`writing failed: \${written.error?.error.code}\`);
const accepted: number = written.data.accepted;

const read = await admin.GET("/api/devices/{id}/telemetry", {
  params: { path: { id: device.id }, query: { limit: 10 } },
});
if (!read.data) throw new Error(\`reading failed: \${read.error?.error.code}\`);
const temperature: number | undefined = read.data.points[0]?.metrics.zone_temp_c;

const missing = await admin.GET("/api/devices/{id}", {
  params: { path: { id: "00000000-0000-4000-8000-000000000000" } },
});
const code: components["schemas"]["Error"]["error"]["code"] | undefined = missing.error?.error.code;

console.log(JSON.stringify({ role, device: device.name, accepted, temperature, code }));
`;

/** The same client, misused: the generated types must refuse it at compile time. */
const MISUSE = `
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1" });
await client.POST("/api/devices", { body: { label: "AHU-1" } });
await client.GET("/api/devices/{id}/telemetry", { params: { path: { id: "x" }, query: { limit: "ten" } } });
`;

describe("a TypeScript client generated from the served OpenAPI document", () => {
  let server: RunningServer;
  let password = "";
  let dir: string;
  beforeAll(async () => {
    server = await startServer(
      loadConfig({ FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-client-")), PORT: "0" }),
      createLogger("silent"),
      {
        passwords: testPasswords(),
        print: (text) => {
          password = /Password \(shown once[^:]*\): (\S+)/.exec(text)?.[1] ?? password;
        },
      },
    );
    // Inside the repository (ignored by git), so that the program resolves openapi-fetch from node_modules.
    dir = mkdtempSync(join(repository, ".firebrick-openapi-client-"));
    const document = await (await fetch(`${server.url}/api/openapi.json`)).json();
    writeFileSync(join(dir, "schema.d.ts"), astToString(await openapiTS(document)));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    for (const [name, source] of [
      ["program", PROGRAM],
      ["misuse", MISUSE],
    ] as const) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "index.ts"), source.replaceAll("./schema.js", "../schema.js"));
      writeFileSync(
        join(dir, name, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noUncheckedIndexedAccess: true,
            target: "es2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            outDir: "out",
            skipLibCheck: true,
            types: ["node"],
            typeRoots: [join(repository, "node_modules/@types")],
          },
          files: ["index.ts"],
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("compiles with tsc a program that signs in, registers a device, writes and reads telemetry, and runs it", async () => {
    await run(tsc, ["-p", join(dir, "program")]).catch((error: { stdout: string }) => {
      throw new Error(`tsc failed:\n${error.stdout}`);
    });
    expect(password).not.toBe("");
    const { stdout } = await run(process.execPath, [join(dir, "program/out/index.js"), server.url, password]);
    expect(JSON.parse(stdout)).toEqual({
      role: "admin",
      device: "AHU-1",
      accepted: 1,
      temperature: 21.5,
      code: "NOT_FOUND",
    });
  }, 90_000);

  it("refuses at compile time a body or a query the API does not accept", async () => {
    const failed = await run(tsc, ["-p", join(dir, "misuse")]).then(
      () => null,
      (error: { stdout: string }) => error.stdout,
    );
    expect(failed).toMatch(/index\.ts\(6,.*'label'/);
    expect(failed).toMatch(/index\.ts\(7,.*(string|number)/);
  }, 90_000);
});
