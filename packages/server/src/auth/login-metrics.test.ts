import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../testing/server.js";

describe("login guardrails in /metrics", () => {
  let service: TestServer;
  beforeAll(async () => {
    service = await startTestServer();
  });
  afterAll(() => service?.close());

  it("counts refused sign-ins by limiter and exposes the hashing queue depth", async () => {
    const attempt = () =>
      service.server.app.inject({
        method: "POST",
        url: "/api/auth/login",
        headers: { "x-bas-tenant": "demo" },
        payload: { username: "admin", password: "wrong password" },
      });
    let status = 0;
    for (let i = 0; i < 10 && status !== 429; i++) status = (await attempt()).statusCode;
    expect(status).toBe(429);
    const metrics = (await service.server.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/firebrick_rate_limit_rejections_total\{limiter="login_user"\} 1\b/);
    expect(metrics).toMatch(/firebrick_login_hash_queue_depth 0\b/);
  });
});
