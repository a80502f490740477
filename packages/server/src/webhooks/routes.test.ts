import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";
import { MAX_WEBHOOKS_PER_TENANT } from "./types.js";

describe.each(BACKENDS)("webhooks over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let operator: string;
  let otherAdmin: string;
  beforeAll(async () => {
    service = await startTestService(backend);
    [admin, operator, otherAdmin] = [
      await service.login("t1", "admin"),
      await service.login("t1", "operator"),
      await service.login("t2", "admin"),
    ];
  }, 60_000);
  afterAll(() => service?.close());

  const call: TestService["call"] = (...args) => service.call(...args);
  const entries = async (action: string) =>
    (await call("GET", `/api/audit?action=${action}`, admin)).json().entries as Record<string, unknown>[];

  it("an admin registers a webhook: the secret is in that answer only (no-store), never listed, audited", async () => {
    const created = await call("POST", "/api/webhooks", admin, {
      url: "https://hooks.example.com/alarms?team=ops",
      description: "on-call",
      severities: ["critical", "major"],
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const { webhook, secret } = created.json();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).toMatchObject({
      url: "https://hooks.example.com/alarms?team=ops",
      description: "on-call",
      severities: ["critical", "major"],
      secret_rotated_at: null,
    });
    expect(webhook).not.toHaveProperty("secret");
    expect(webhook).not.toHaveProperty("tenant_id");

    const listed = await call("GET", "/api/webhooks", admin);
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(secret);
    expect(listed.json().webhooks.map((hook: { id: string }) => hook.id)).toContain(webhook.id);
    const audit = await entries("webhook.create");
    expect(audit).toEqual([expect.objectContaining({ target: `webhook:${webhook.id}`, outcome: "success" })]);
    expect(JSON.stringify(audit)).not.toContain(secret);

    const rotated = await call("POST", `/api/webhooks/${webhook.id}/secret`, admin);
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.headers["cache-control"]).toBe("no-store");
    expect(rotated.json().secret).not.toBe(secret);
    expect((await service.webhooks.get("t1", webhook.id))?.secret).toBe(rotated.json().secret);
    expect(await entries("webhook.rotate_secret")).toHaveLength(1);

    const log = await call("GET", `/api/webhooks/${webhook.id}/deliveries?limit=5`, admin);
    expect(log.json()).toEqual({ attempts: [], next_cursor: null });

    expect((await call("DELETE", `/api/webhooks/${webhook.id}`, admin)).json()).toEqual({ deleted: true });
    expect((await call("DELETE", `/api/webhooks/${webhook.id}`, admin)).statusCode).toBe(404);
    expect(await entries("webhook.delete")).toHaveLength(1);
  });

  it("operators and viewers can neither register, list nor read the delivery log", async () => {
    expect(
      (await call("POST", "/api/webhooks", operator, { url: "https://hooks.example.com/x" })).statusCode,
    ).toBe(403);
    expect((await call("GET", "/api/webhooks", operator)).statusCode).toBe(403);
  });

  it.each([
    ["ftp://hooks.example.com/x", "http or https"],
    ["not a url", "valid absolute URL"],
    ["https://user:pass@hooks.example.com/x", "credentials"],
    [`https://hooks.example.com/${"a".repeat(2100)}`, ""],
  ])("refuses a URL such as %#: 400 VALIDATION_FAILED", async (url, message) => {
    const response = await call("POST", "/api/webhooks", admin, { url });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(response.json().error.message).toContain(message);
  });

  it("another tenant's webhook is a 403 (audited), its secret untouched; a tenant has a bounded number", async () => {
    const theirs = (
      await call("POST", "/api/webhooks", otherAdmin, { url: "https://hooks.example.com/t2" }, "t2")
    ).json();
    const before = (await service.webhooks.get("t2", theirs.webhook.id))?.secret;
    expect((await call("POST", `/api/webhooks/${theirs.webhook.id}/secret`, admin)).statusCode).toBe(403);
    expect((await call("GET", `/api/webhooks/${theirs.webhook.id}/deliveries`, admin)).statusCode).toBe(403);
    expect((await service.webhooks.get("t2", theirs.webhook.id))?.secret).toBe(before);
    expect((await call("GET", "/api/webhooks", otherAdmin, undefined, "t2")).json().webhooks).toHaveLength(1);

    const existing = (await call("GET", "/api/webhooks", admin)).json().webhooks.length;
    for (let n = existing; n < MAX_WEBHOOKS_PER_TENANT; n++) {
      expect(
        (await call("POST", "/api/webhooks", admin, { url: `https://hooks.example.com/${n}` })).statusCode,
      ).toBe(201);
    }
    const refused = await call("POST", "/api/webhooks", admin, { url: "https://hooks.example.com/one-more" });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("CONFLICT");
  });
});

describe("webhooks to private addresses (FIREBRICK_WEBHOOK_ALLOW_PRIVATE off)", () => {
  let service: TestService;
  let admin: string;
  beforeAll(async () => {
    service = await startTestService("sqlite", { withoutFirestore: true, webhooksAllowPrivate: false });
    admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  it.each([
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/computeMetadata/v1/",
    "http://10.1.2.3/hook",
    "http://[::1]/hook",
    "http://[::ffff:192.168.0.1]/hook",
    "http://metadata.google.internal/",
    "http://intranet/hook",
  ])("refuses %s: a tenant must not make the service probe its own network", async (url) => {
    const response = await service.request({
      method: "POST",
      url: "/api/webhooks",
      tenant: "t1",
      session: admin,
      payload: { url },
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain("private or local");
  });

  it("accepts a public address", async () => {
    const response = await service.request({
      method: "POST",
      url: "/api/webhooks",
      tenant: "t1",
      session: admin,
      payload: { url: "https://93.184.215.14/hook" },
    });
    expect(response.statusCode, response.body).toBe(201);
  });
});
