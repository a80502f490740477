import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { loadConfig } from "../config/env.js";
import { testPasswords } from "../http/testing/service.js";
import { type RunningServer, startServer } from "../server.js";
import { createLogger } from "./logger.js";

describe("group commits in /metrics (telemetry on Firestore)", () => {
  let server: RunningServer;
  let password = "";
  beforeAll(async () => {
    const config = loadConfig({
      FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-commit-metrics-")),
      PORT: "0",
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("commit-metrics"),
      USE_FIRESTORE_TELEMETRY: "1",
      DEVICE_WRITES_PER_MINUTE: "1000",
    });
    const silent = createLogger("silent", new Writable({ write: (_c, _e, done) => done() }));
    server = await startServer(config, silent, {
      passwords: testPasswords(),
      print: (text) => {
        password = /Password \(shown once[^)]*\): (\S+)/.exec(text)?.[1] ?? password;
      },
    });
  });
  afterAll(() => server?.close());

  it("counts the documents of each telemetry commit and shows an empty queue once they are done", async () => {
    const headers = { "x-bas-tenant": "demo" };
    const login = await server.app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers,
      payload: { username: "admin", password },
    });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers["set-cookie"]).split(";", 1)[0]!;
    const created = await server.app.inject({
      method: "POST",
      url: "/api/devices",
      headers: { ...headers, cookie },
      payload: { name: "AHU-1" },
    });
    const { device, token } = created.json() as { device: { id: string }; token: string };
    const now = Date.now();
    const written = await server.app.inject({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      headers: { ...headers, authorization: `Bearer ${token}` },
      payload: {
        points: [0, 1, 2].map((i) => ({ timestamp_ms: now - i * 1000, metrics: { zone_temp_c: 21 } })),
      },
    });
    expect(written.statusCode).toBe(202);

    const metrics = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^firebrick_telemetry_commit_documents_count 1$/m);
    expect(metrics).toMatch(/^firebrick_telemetry_commit_documents_sum 3$/m);
    expect(metrics).toMatch(/^firebrick_telemetry_write_queue_documents 0$/m);
  });
});
