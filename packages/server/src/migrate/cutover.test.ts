import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import { loadConfig } from "../config/env.js";
import { createLogger } from "../observability/logger.js";
import { createFirestoreClient } from "../runtime/open-stores.js";
import { type RunningServer, startServer } from "../server.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores, type Stores } from "../stores/index.js";
import { changeFlags, FlagChangeRefusedError } from "../stores/routing/flag-change.js";
import type { Flags } from "../stores/routing/flags.js";
import { testPasswords } from "../testing/service.js";
import { WriteBudget } from "./budget.js";
import { compareTelemetry } from "./compare.js";
import { type FixtureManifest, generateLegacyFixture } from "./fixture.js";
import { runJob } from "./job.js";
import { backfillAuditJob, backfillTelemetryJob, migrateUsersJob } from "./jobs.js";
import { isUuidV4 } from "./legacy-ids.js";
import { JobRetrier } from "./retry.js";
import { firestoreJobRuntime, recordCompareResult } from "./runtime.js";

const silent = () => createLogger("silent");

/**
 * The whole cutover of docs/design/store-routing.md on the emulator, through the real server and the real
 * jobs: backfill, dual-write, compare, flip telemetry, audit, auth (forced re-login), then roll each back; no
 * row is lost or duplicated on the way.
 */
describe("cutover from SQLite to Firestore and back", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "firebrick-cutover-"));
  const config = loadConfig({
    FIREBRICK_DATA_DIR: dataDir,
    PORT: "0",
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    GOOGLE_CLOUD_PROJECT: uniqueProjectId("cutover"),
  });
  let firestore: Firestore;
  let manifest: FixtureManifest;
  let server: RunningServer;
  let sqlite: Stores;
  let target: Stores;
  let cookie = "";
  const tenant = "acme";

  const call = async (options: InjectOptions & { device?: string }) => {
    const { device, headers, ...rest } = options;
    const response = await server.app.inject({
      ...rest,
      headers: {
        "x-bas-tenant": tenant,
        ...(device
          ? { authorization: `Bearer ${device}` }
          : cookie
            ? { cookie: `firebrick_session=${cookie}` }
            : {}),
        ...headers,
      },
    } as InjectOptions);
    const set = response.cookies.find((c) => c.name === "firebrick_session");
    if (set) cookie = set.value;
    return response;
  };
  const admin = () => manifest.users.find((user) => user.tenant === tenant && user.role === "admin")!;
  const login = () =>
    call({
      method: "POST",
      url: "/api/auth/login",
      payload: { username: admin().username, password: admin().password },
    });
  /** What `firebrick flags set` does, on the running server's own stores (the platform operator's change). */
  const setFlags = async (requested: Partial<Flags>) => {
    const { flags, router, telemetryGate, fleet } = server.stores;
    try {
      await changeFlags(
        { flags, router, clock: Date.now, telemetryGate, platformAudit: fleet.platformAudit },
        requested,
        "cli:operator@test",
      );
      return { refused: null, stores: router.backends() };
    } catch (error) {
      if (!(error instanceof FlagChangeRefusedError)) throw error;
      return { refused: error.reason, stores: router.backends() };
    }
  };
  const jobs = () => firestoreJobRuntime(firestore);

  beforeAll(async () => {
    firestore = (await createFirestoreClient(config.firestore))!;
    const db = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    manifest = await generateLegacyFixture(db, {
      users: 6,
      devices: 2,
      days: 3,
      pointsPerDay: 200,
      auditPerDay: 2,
    });
    db.close();
    server = await startServer(config, silent(), { passwords: testPasswords(), print: () => undefined });
    sqlite = createSqliteStores(server.sqlite, {});
    target = createFirestoreStores(firestore, {});
  });
  afterAll(async () => {
    await server?.close();
    await firestore.terminate();
  });

  it("runs the flag sequence telemetry → audit → auth and rolls each back without losing a row", async () => {
    expect(admin().format).toBe("legacy");
    expect((await login()).statusCode).toBe(200);
    const device = manifest.devices.find((d) => d.tenant === tenant)!;
    const rotated = await call({ method: "POST", url: `/api/devices/${device.id}/token` });
    expect(rotated.statusCode).toBe(200);
    const deviceToken: string = rotated.json().token;
    const post = async (timestamp_ms: number, zone_temp_c: number) =>
      call({
        method: "POST",
        url: `/api/devices/${device.id}/telemetry`,
        device: deviceToken,
        payload: { points: [{ timestamp_ms, metrics: { zone_temp_c } }] },
      });
    const latest = async () =>
      (await call({ method: "GET", url: `/api/devices/${device.id}/telemetry?limit=1000` })).json().points;

    // 1. Accounts and history go over while everything still runs on SQLite.
    const users = await runJob(migrateUsersJob(sqlite, target, new JobRetrier()), jobs());
    expect(users.refused).toBe(manifest.users.filter((u) => u.format === "unsalted").length);
    await runJob(
      backfillAuditJob(sqlite, target, { days: 7, now: Date.now(), retrier: new JobRetrier() }),
      jobs(),
    );

    // 2. Dual-write window: new points land in both stores; reads stay on SQLite.
    expect((await setFlags({ telemetry_dual_write: true })).stores.telemetry).toBe("sqlite");
    const now = Date.now();
    expect((await post(now - 1000, 22.5)).statusCode).toBe(202);
    await runJob(
      backfillTelemetryJob(sqlite, target, {
        days: 7,
        now: Date.now(),
        retrier: new JobRetrier(),
        budget: new WriteBudget(1000),
      }),
      jobs(),
    );
    expect((await target.telemetry.latest(tenant, device.id, 1))[0]).toMatchObject({
      timestamp_ms: now - 1000,
    });

    // 3. The read flip waits for a green comparison.
    const blocked = await setFlags({ telemetry: true });
    expect(blocked.refused).toBe("telemetry_flip_blocked");
    const comparison = await compareTelemetry(sqlite, target, { sample: 10 });
    expect(comparison.green).toBe(true);
    await recordCompareResult(firestore, comparison);
    const sqliteView = await latest();
    expect((await setFlags({ telemetry: true })).stores.telemetry).toBe("firestore");
    expect(await latest()).toEqual(sqliteView);
    expect((await post(now, 23)).statusCode).toBe(202);

    // 4. Audit, then auth: the auth cutover signs everyone out, and the migrated account signs in again.
    expect((await setFlags({ audit: true })).stores.audit).toBe("firestore");
    expect((await setFlags({ auth: true })).refused).toBeNull();
    const stale = cookie;
    cookie = "";
    expect(
      (await call({ method: "GET", url: "/api/auth/me", headers: { cookie: `firebrick_session=${stale}` } }))
        .statusCode,
    ).toBe(401);
    expect((await login()).statusCode).toBe(200);
    const me = (await call({ method: "GET", url: "/api/auth/me" })).json().user;
    expect(isUuidV4(me.id)).toBe(true);
    expect((await target.users.get(tenant, me.id))?.needs_rehash).toBe(false); // re-hashed at first login
    expect((await post(now + 1000, 23.5)).statusCode).toBe(202); // the migrated device token still works
    const audit = (await call({ method: "GET", url: "/api/audit?limit=500" })).json().entries;
    expect(audit.some((entry: { source?: string }) => entry.source === "sqlite_backfill")).toBe(true);

    // 5. Roll back, newest first. Each rollback is one audited flag change; auth forces a re-login again.
    expect((await setFlags({ auth: false })).refused).toBeNull();
    cookie = "";
    expect((await login()).statusCode).toBe(200);
    expect((await setFlags({ audit: false })).stores.audit).toBe("sqlite");
    expect((await setFlags({ telemetry: false })).stores.telemetry).toBe("sqlite");
    const rollbacks = (await sqlite.audit.query(tenant, { action: "flags.update", limit: 100 })).items;
    expect(rollbacks.length).toBeGreaterThanOrEqual(2);

    // 6. Nothing lost, nothing twice: both stores hold every point, once.
    const back = await latest();
    const times = back.map((point: { timestamp_ms: number }) => point.timestamp_ms);
    expect(new Set(times).size).toBe(times.length);
    expect(times).toEqual(expect.arrayContaining([now - 1000, now, now + 1000]));
    const firestorePoints = await target.telemetry.latest(tenant, device.id, 1000);
    expect(firestorePoints.map((p) => p.timestamp_ms)).toEqual(times);
    const final = await compareTelemetry(sqlite, target, { sample: 10 });
    expect(final.notes).toEqual([]);
    expect(final.green).toBe(true);
  }, 180_000);
});
