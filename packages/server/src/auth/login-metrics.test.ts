import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/env.js";
import { testPasswords } from "../http/testing/service.js";
import { createLogger } from "../observability/logger.js";
import { type RunningServer, startServer } from "../server.js";

describe("login guardrails in /metrics", () => {
  let server: RunningServer;
  beforeAll(async () => {
    const config = loadConfig({
      FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-login-metrics-")),
      PORT: "0",
    });
    const silent = createLogger("silent", new Writable({ write: (_c, _e, done) => done() }));
    server = await startServer(config, silent, { passwords: testPasswords(), print: () => undefined });
  });
  afterAll(() => server?.close());

  it("counts refused sign-ins by limiter and exposes the hashing queue depth", async () => {
    const attempt = () =>
      server.app.inject({
        method: "POST",
        url: "/api/auth/login",
        headers: { "x-bas-tenant": "demo" },
        payload: { username: "admin", password: "wrong password" },
      });
    let status = 0;
    for (let i = 0; i < 10 && status !== 429; i++) status = (await attempt()).statusCode;
    expect(status).toBe(429);
    const metrics = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/firebrick_rate_limit_rejections_total\{limiter="login_user"\} 1\b/);
    expect(metrics).toMatch(/firebrick_login_hash_queue_depth 0\b/);
  });
});
