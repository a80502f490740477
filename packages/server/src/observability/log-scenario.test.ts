import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { InjectOptions } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { type Backend, startTestService, type TestService } from "../testing/service.js";
import { createLogger } from "./logger.js";

const services: TestService[] = [];
afterAll(async () => {
  for (const service of services) await service.close();
});

async function startService(backend: Backend) {
  let text = "";
  const logger = createLogger(
    "trace",
    new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    // Keep every debug line: the policy must hold for what sampling would let through.
    { debugSampleRate: 0.1, random: () => 0 },
  );
  const service = await startTestService(backend, { logger, withoutFirestore: backend === "sqlite" });
  services.push(service);
  return { ...service, log: () => text };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const secret = (label: string) => `${label}-${randomBytes(9).toString("base64url")}`;

describe.each(["sqlite", "firestore"] as const)("the log of a full API scenario on %s", (backend) => {
  it("holds no password, session token, device token or hash, and only masked usernames", async () => {
    const { app, router, passwords, log } = await startService(backend);
    const adminName = "rosalind.franklin";
    const operatorName = "marguerite.perey";
    const adminPassword = secret("admin-password");
    const operatorPassword = secret("operator-password");
    const newPassword = secret("changed-password");
    const wrongPassword = secret("wrong-password");

    await router.stores.tenants.create({ id: "acme" });
    await router.stores.users.create("acme", {
      username: adminName,
      role: "admin",
      ...(await passwords.hash(adminPassword)),
    });
    const call = (options: InjectOptions & { session?: string; tenant?: string }) => {
      const { session, tenant, headers, ...rest } = options;
      return app.inject({
        ...rest,
        headers: {
          "x-bas-tenant": tenant ?? "acme",
          "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
          ...(session && { cookie: `firebrick_session=${session}` }),
          ...headers,
        },
      } as InjectOptions);
    };
    const login = async (username: string, password: string) => {
      const response = await call({
        method: "POST",
        url: "/api/auth/login",
        payload: { username, password },
      });
      return { response, token: response.cookies.find((c) => c.name === "firebrick_session")?.value };
    };

    const admin = await login(adminName, adminPassword);
    expect(admin.response.statusCode).toBe(200);
    const adminSession = admin.token!;
    expect(
      (
        await call({
          method: "POST",
          url: "/api/users",
          session: adminSession,
          payload: { username: operatorName, password: operatorPassword, role: "operator" },
        })
      ).statusCode,
    ).toBe(201);
    const created = await call({
      method: "POST",
      url: "/api/devices",
      session: adminSession,
      payload: { name: "AHU-1" },
    });
    expect(created.statusCode).toBe(201);
    const deviceId = created.json().device.id as string;
    const deviceToken = created.json().token as string;
    const now = Date.now();
    const write = await call({
      method: "POST",
      url: `/api/devices/${deviceId}/telemetry`,
      headers: { authorization: `Bearer ${deviceToken}` },
      payload: { points: [{ timestamp_ms: now - 1000, metrics: { zone_temp_c: 21.5 } }] },
    });
    expect(write.statusCode).toBe(202);
    expect(
      (
        await call({
          method: "GET",
          url: `/api/devices/${deviceId}/telemetry?limit=100`,
          session: adminSession,
        })
      ).statusCode,
    ).toBe(200);
    const rotated = await call({
      method: "POST",
      url: `/api/devices/${deviceId}/token`,
      session: adminSession,
    });
    expect(rotated.statusCode).toBe(200);
    const rotatedToken = rotated.json().token as string;
    // A device still using its old token, and a token in a query string.
    await call({
      method: "POST",
      url: `/api/devices/${deviceId}/telemetry?token=${deviceToken}`,
      headers: { authorization: `Bearer ${deviceToken}` },
      payload: { points: [{ timestamp_ms: now, metrics: { zone_temp_c: 21.6 } }] },
    });

    expect((await login(operatorName, wrongPassword)).response.statusCode).toBe(401);
    const operator = await login(operatorName, operatorPassword);
    const operatorSession = operator.token!;
    expect(
      (
        await call({
          method: "POST",
          url: "/api/auth/password",
          session: operatorSession,
          payload: { current_password: operatorPassword, new_password: newPassword },
        })
      ).statusCode,
    ).toBeLessThan(300);
    // The session from another tenant's point of view, then everything signed out.
    await call({ method: "GET", url: "/api/auth/me", session: adminSession, tenant: "globex" });
    await call({ method: "GET", url: "/api/auth/sessions", session: adminSession });
    await call({ method: "DELETE", url: "/api/auth/sessions", session: adminSession });
    await call({ method: "POST", url: "/api/auth/logout", session: adminSession });

    const storedHashes = await Promise.all(
      [adminName, operatorName].map(async (name) => (await router.stores.users.getByUsername("acme", name))!),
    );
    const secrets: Record<string, string> = {
      adminPassword,
      operatorPassword,
      newPassword,
      wrongPassword,
      adminSession,
      adminSessionId: sha256(adminSession),
      operatorSession,
      operatorSessionId: sha256(operatorSession),
      deviceToken,
      deviceTokenHash: sha256(deviceToken),
      rotatedToken,
      rotatedTokenHash: sha256(rotatedToken),
      adminPasswordHash: storedHashes[0]!.password_hash,
      operatorPasswordHash: storedHashes[1]!.password_hash,
      adminName,
      operatorName,
    };

    const text = log();
    for (const [name, value] of Object.entries(secrets)) {
      expect(text.includes(value), `${name} appears in the log`).toBe(false);
    }
    const lines = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const served = lines.filter((line) => line.msg === "request served");
    expect(served.length).toBeGreaterThanOrEqual(14);
    // The lines are useful, not just clean: who, what, and what it cost.
    const telemetryWrite = served.find(
      (line) =>
        line.route === "/api/devices/:id/telemetry" && line.method === "POST" && line.status_code === 202,
    );
    expect(telemetryWrite).toMatchObject({ tenant_id: "acme", device_id: deviceId });
    expect(telemetryWrite?.writes).toBeGreaterThanOrEqual(1);
    const loginLine = served.find((line) => line.route === "/api/auth/login" && line.status_code === 200);
    expect(loginLine?.reads).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
