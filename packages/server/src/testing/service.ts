import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { testFirestore } from "../../../../test/firestore.js";
import { createFirestoreAlarmsStore } from "../alarms/firestore.js";
import { createSqliteAlarmsStore } from "../alarms/sqlite.js";
import type { AlarmsStore } from "../alarms/types.js";
import { registerApi } from "../api.js";
import type { LoginLimits } from "../auth/login-limits.js";
import { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from "../auth/passwords.js";
import { describeCaller } from "../auth/principal.js";
import { createSqliteFleetState } from "../fleet/sqlite.js";
import type { FleetState } from "../fleet/types.js";
import { buildApp } from "../http/app.js";
import { registerObservability } from "../observability/http-plugin.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { requestScopedUsage } from "../observability/request-context.js";
import { createServiceContext, type ServiceContext } from "../service.js";
import type { SessionPolicy } from "../sessions/manager.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../stores/index.js";
import { FlagsState } from "../stores/routing/flags.js";
import { routeStores, type StoreRouter } from "../stores/routing/router.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import type { Clock, Device, Role, Stores, User } from "../stores/types.js";
import { fanOut, type UsageRecorder, UsageTally } from "../stores/usage.js";
import { createFirestoreWebhooksStore } from "../webhooks/firestore.js";
import { createSqliteWebhooksStore } from "../webhooks/sqlite.js";
import type { WebhooksStore } from "../webhooks/types.js";

export type Backend = "sqlite" | "firestore";
export const BACKENDS: Backend[] = ["sqlite", "firestore"];

export const HEADER = "x-bas-tenant";
export const PASSWORD = "correct horse battery";
/** Cheap Argon2id so that tests stay fast on two cores; production cost is tested on its own. */
export const testPasswords = (options: PasswordHasherOptions = {}): PasswordHasher =>
  createPasswordHasher({
    params: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
    concurrency: 2,
    ...options,
  });

/** A clock the test moves by hand: expiry is tested without sleeping. */
export class TestClock {
  constructor(public now = Date.now()) {}
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export interface TenantFixture {
  id: string;
  users: Record<Role, User>;
  device: Device;
  deviceToken: string;
}

export interface TestService {
  backend: Backend;
  app: FastifyInstance;
  ctx: ServiceContext;
  router: StoreRouter;
  flags: FlagsState;
  /** The service-wide state: the SQLite file's (one in-process instance has no fleet to share it with). */
  fleet: FleetState;
  /** Alarms: on the backend's store (Firestore on the Firestore backend). */
  alarms: AlarmsStore;
  /** Webhooks: beside the alarms. */
  webhooks: WebhooksStore;
  clock: TestClock;
  usage: UsageTally;
  sqlite: SqliteDatabase;
  /** The fresh emulator project's client; null without Firestore or with `firestoreStores`. */
  firestore: Firestore | null;
  passwords: PasswordHasher;
  /** Two tenants, each with one user per role and one device. */
  t1: TenantFixture;
  t2: TenantFixture;
  request(
    options: InjectOptions & { tenant?: string | null; session?: string },
  ): Promise<LightMyRequestResponse>;
  /** A route test's usual call: a method, a URL, whose session, a JSON body if any, in tenant t1 unless said. */
  call(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    session: string,
    payload?: unknown,
    tenant?: string,
  ): Promise<LightMyRequestResponse>;
  /** Signs in and returns the session token (the cookie's value). */
  login(
    tenant: string,
    username: string,
    options?: { remoteAddress?: string; userAgent?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  deviceWritesPerMinute?: number;
  deviceOfflineAfterMs?: number;
  loginLimits?: LoginLimits;
  sessionPolicy?: SessionPolicy;
  /** Defaults to true on the Firestore backend: every area routed to Firestore. */
  firestoreFlags?: boolean;
  /** Whether webhooks may point at private addresses (as `FIREBRICK_WEBHOOK_ALLOW_PRIVATE`); on unless false. */
  webhooksAllowPrivate?: boolean;
  /** Build the service with no Firestore at all (SQLite only). */
  withoutFirestore?: boolean;
  /** Defaults to a silent one. */
  logger?: Logger;
  /**
   * Firestore stores the test builds itself (on its own emulator, or wrapped in `withResilience`) in
   * place of a fresh emulator project's; given the service's clock and usage recorder.
   */
  firestoreStores?: (options: { clock: Clock; usage: UsageRecorder }) => Stores;
}

const silent = () => createLogger("silent");

/**
 * The API on real stores, wired as `startServer` wires it (request-scoped usage and request
 * descriptions in the log): a SQLite temp file, and on the Firestore backend a fresh emulator project
 * with every area routed to it. Seeds two tenants with a user of each role and a device each.
 */
export async function startTestService(
  backend: Backend,
  options: TestServiceOptions = {},
): Promise<TestService> {
  const clock = new TestClock();
  const usage = new UsageTally();
  const dir = mkdtempSync(join(tmpdir(), "firebrick-api-"));
  const sqlite = openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  const metrics = createMetrics({ defaultMetrics: false });
  const storeOptions = { clock: clock.read, usage: fanOut(metrics.usage, requestScopedUsage(), usage) };
  const ownFirestore = !options.firestoreStores && (backend === "firestore" || !options.withoutFirestore);
  const firestore = ownFirestore ? testFirestore(`api-${backend}`) : null;
  const onFirestore = backend === "firestore" && (options.firestoreFlags ?? true);
  // As the server wires them: the limiter's record writes share the telemetry group commit.
  const telemetryCommits = new SqliteGroupCommit(sqlite);
  const fleet = createSqliteFleetState(sqlite, { ...storeOptions, commits: telemetryCommits });
  const initial = {
    telemetry: onFirestore,
    audit: onFirestore,
    auth: onFirestore,
    telemetry_dual_write: false,
  };
  const saved = await fleet.flags.initialize(initial, "test", clock.now);
  const flags = new FlagsState(fleet.flags, { ...initial, ...saved.flags });
  const router = routeStores({
    sqlite: createSqliteStores(sqlite, { ...storeOptions, telemetryCommits }),
    firestore:
      options.firestoreStores?.(storeOptions) ??
      (firestore && !options.withoutFirestore ? createFirestoreStores(firestore, storeOptions) : null),
    flags,
  });
  const alarms =
    backend === "firestore" && firestore
      ? createFirestoreAlarmsStore(firestore, storeOptions)
      : createSqliteAlarmsStore(sqlite, storeOptions);
  const webhooks =
    backend === "firestore" && firestore
      ? createFirestoreWebhooksStore(firestore, storeOptions)
      : createSqliteWebhooksStore(sqlite, storeOptions);
  const passwords = testPasswords();
  const app = await buildApp({ logger: options.logger ?? silent(), readiness: [] });
  // Before registerApi, as in startServer: its security hook's store reads count towards the request.
  registerObservability(app, { metrics, describeRequest: describeCaller });
  const ctx = createServiceContext({
    router,
    flags,
    fleet,
    alarms,
    webhooks,
    webhookTargets: { allowPrivate: options.webhooksAllowPrivate ?? true },
    cacheMemoryBytes: 16 * 2 ** 20,
    clock: clock.read,
    passwords,
    tenantHeader: "X-BAS-Tenant",
    cookieSecure: true,
    deviceWritesPerMinute: options.deviceWritesPerMinute ?? 5,
    ...(options.deviceOfflineAfterMs && { deviceOfflineAfterMs: options.deviceOfflineAfterMs }),
    ...(options.loginLimits && { loginLimits: options.loginLimits }),
    ...(options.sessionPolicy && { sessionPolicy: options.sessionPolicy }),
  });
  await registerApi(app, ctx);
  await app.ready();

  const seed = async (id: string): Promise<TenantFixture> => {
    const { stores } = router;
    await stores.tenants.create({ id });
    const users = {} as Record<Role, User>;
    const stored = await passwords.hash(PASSWORD);
    for (const role of ["admin", "operator", "viewer"] as const) {
      users[role] = await stores.users.create(id, { username: role, role, ...stored });
    }
    const response = await request({
      method: "POST",
      url: "/api/devices",
      tenant: id,
      session: await login(id, "admin"),
      payload: { name: `${id}-ahu` },
    });
    const body = response.json();
    return { id, users, device: (await stores.devices.get(id, body.device.id))!, deviceToken: body.token };
  };

  async function request(options: InjectOptions & { tenant?: string | null; session?: string }) {
    const { tenant, session, headers, ...rest } = options;
    return app.inject({
      ...rest,
      headers: {
        ...(tenant !== null && tenant !== undefined && { [HEADER]: tenant }),
        ...(session !== undefined && { cookie: `firebrick_session=${session}` }),
        ...headers,
      },
    } as InjectOptions);
  }

  function call(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    session: string,
    payload?: unknown,
    tenant = "t1",
  ) {
    return request({
      method,
      url,
      tenant,
      session,
      ...(payload !== undefined && { payload: payload as object }),
    });
  }

  async function login(
    tenant: string,
    username: string,
    client: { remoteAddress?: string; userAgent?: string } = {},
  ) {
    const response = await request({
      method: "POST",
      url: "/api/auth/login",
      tenant,
      payload: { username, password: PASSWORD },
      ...(client.remoteAddress && { remoteAddress: client.remoteAddress }),
      ...(client.userAgent && { headers: { "user-agent": client.userAgent } }),
    });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    return sessionCookie(response)!;
  }

  const t1 = await seed("t1");
  const t2 = await seed("t2");
  return {
    backend,
    app,
    ctx,
    router,
    flags,
    fleet,
    alarms,
    webhooks,
    clock,
    usage,
    sqlite,
    firestore,
    passwords,
    t1,
    t2,
    request,
    call,
    login,
    async close() {
      await app.close();
      // Held-back rollup updates are written before the client goes, as the server does on shutdown.
      if (firestore) await router.stores.telemetry.flush();
      sqlite.close();
      rmSync(dir, { recursive: true, force: true });
      await firestore?.terminate();
    },
  };
}

/** The session cookie a response sets, if any ("" when it clears it). */
export function sessionCookie(response: LightMyRequestResponse): string | undefined {
  return response.cookies.find((cookie) => cookie.name === "firebrick_session")?.value;
}
