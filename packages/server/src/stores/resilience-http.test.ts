import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Firestore } from "@google-cloud/firestore";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueProjectId } from "../../../../test/firestore.js";
import { createPasswordHasher } from "../auth/passwords.js";
import { type RunningEmulator, startFirestoreEmulator } from "../firestore/emulator.js";
import { FlagsState, sqliteFlagsPersistence } from "../flags/flags.js";
import { routeStores } from "../flags/store-router.js";
import { registerApi } from "../http/api.js";
import { buildApp } from "../http/app.js";
import { createLogger } from "../observability/logger.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "./index.js";
import { firestoreCallSettings, withResilience } from "./resilience.js";

const silent = () => createLogger("silent");

describe("the API while its own Firestore emulator is stopped and restarted", () => {
  let emulator: RunningEmulator;
  let db: Firestore;
  let sqlite: SqliteDatabase;
  let dir: string;
  let app: FastifyInstance;
  let now = Date.now();
  let session = "";
  let deviceId = "";
  let stores: ReturnType<typeof withResilience<ReturnType<typeof createFirestoreStores>>>;
  const PASSWORD = "correct horse battery";

  beforeAll(async () => {
    emulator = await startFirestoreEmulator();
    const [host, port] = emulator.hostPort.split(":");
    db = new Firestore({
      projectId: uniqueProjectId("outage"),
      host,
      port: Number(port),
      ssl: false,
      ...firestoreCallSettings({ timeoutMs: 5_000 }),
    });
    await db.collection("warm-up").limit(1).get();
    stores = withResilience(createFirestoreStores(db), {
      backend: "firestore",
      attemptTimeoutMs: 5_000,
      maxRetries: 1,
      failureThreshold: 2,
      openMs: 30_000,
      clock: () => now,
      sleep: async () => {},
    });
    dir = mkdtempSync(join(tmpdir(), "firebrick-outage-"));
    sqlite = openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    const flags = new FlagsState(sqliteFlagsPersistence(sqlite), {
      telemetry: true,
      audit: true,
      auth: true,
    });
    const router = routeStores({
      sqlite: createSqliteStores(sqlite),
      firestore: stores,
      flags: () => flags.current(),
    });
    const passwords = createPasswordHasher({
      params: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
      concurrency: 2,
    });
    app = await buildApp({ logger: silent(), readiness: [] });
    await registerApi(app, {
      router,
      flags,
      passwords,
      tenantHeader: "X-BAS-Tenant",
      cookieSecure: true,
      deviceWritesPerMinute: 5,
    });
    await app.ready();

    await router.stores.tenants.create({ id: "acme" });
    await router.stores.users.create("acme", {
      username: "admin",
      role: "admin",
      ...(await passwords.hash(PASSWORD)),
    });
    const login = await app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers: { "x-bas-tenant": "acme" },
      payload: { username: "admin", password: PASSWORD },
    });
    session = login.cookies.find((cookie) => cookie.name === "firebrick_session")!.value;
    const device = await app.inject({
      method: "POST",
      url: "/api/devices",
      headers: { "x-bas-tenant": "acme", cookie: `firebrick_session=${session}` },
      payload: { name: "AHU-1" },
    });
    deviceId = device.json().device.id;
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    await stores?.resilience.drain();
    await db?.terminate();
    await emulator?.stop();
    sqlite?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  const readTelemetry = () =>
    app.inject({
      method: "GET",
      url: `/api/devices/${deviceId}/telemetry?limit=100`,
      headers: { "x-bas-tenant": "acme", cookie: `firebrick_session=${session}` },
    });

  it("serves while Firestore answers", async () => {
    expect((await readTelemetry()).statusCode).toBe(200);
  });

  it("answers 503 UNAVAILABLE, not a hang, once Firestore is gone, then fails fast with the breaker open", async () => {
    await emulator.stop();
    const first = await readTelemetry();
    expect(first.statusCode).toBe(503);
    expect(first.json().error.code).toBe("UNAVAILABLE");
    expect(stores.resilience.breakerState("sessions.find")).toBe("open");

    const second = await readTelemetry();
    expect(second.statusCode).toBe(503);
    expect(second.json().error).toMatchObject({
      code: "UNAVAILABLE",
      request_id: second.headers["x-request-id"],
    });
  }, 60_000);

  it("answers again once Firestore is back on the same port", async () => {
    emulator = await startFirestoreEmulator({ port: Number(emulator.hostPort.split(":")[1]) });
    let status = 503;
    const giveUpAt = Date.now() + 90_000;
    while (status === 503 && Date.now() < giveUpAt) {
      now += 30_000; // past the breaker's wait: the next call is its probe
      status = (await readTelemetry()).statusCode;
      if (status === 503) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The restarted emulator kept no data: the session is gone, which the API now says with a 401.
    expect(status).toBe(401);
    expect(stores.resilience.breakerState("sessions.find")).toBe("closed");
  }, 120_000);
});
