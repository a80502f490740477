import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { startTestServer, type TestServer } from "../testing/server.js";

describe("group commits in /metrics (telemetry on Firestore)", () => {
  let service: TestServer;
  beforeAll(async () => {
    service = await startTestServer({
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("commit-metrics"),
      USE_FIRESTORE_TELEMETRY: "1",
      DEVICE_WRITES_PER_MINUTE: "1000",
    });
  });
  afterAll(() => service?.close());

  it("counts the documents of each telemetry commit and shows an empty queue once they are done", async () => {
    const headers = { "x-bas-tenant": "demo" };
    const login = await service.server.app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers,
      payload: { username: "admin", password: service.adminPassword },
    });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers["set-cookie"]).split(";", 1)[0]!;
    const created = await service.server.app.inject({
      method: "POST",
      url: "/api/devices",
      headers: { ...headers, cookie },
      payload: { name: "AHU-1" },
    });
    const { device, token } = created.json() as { device: { id: string }; token: string };
    const now = Date.now();
    const written = await service.server.app.inject({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      headers: { ...headers, authorization: `Bearer ${token}` },
      payload: {
        points: [0, 1, 2].map((i) => ({ timestamp_ms: now - i * 1000, metrics: { zone_temp_c: 21 } })),
      },
    });
    expect(written.statusCode).toBe(202);

    const metrics = (await service.server.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^firebrick_telemetry_commit_documents_count 1$/m);
    // The 3 points and their device-day rollup document, in one commit (docs/design/trends.md).
    expect(metrics).toMatch(/^firebrick_telemetry_commit_documents_sum 4$/m);
    expect(metrics).toMatch(/^firebrick_telemetry_write_queue_documents 0$/m);
  });
});
