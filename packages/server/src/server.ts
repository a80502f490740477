import { createLock, type LockFunction, withTelemetry } from "@firebrick/lock";
import type { FastifyInstance } from "fastify";
import { OFFLINE_SWEEP_LOCK_KEY, startOfflineSweep } from "./alarms/offline-sweep.js";
import { alarmRetentionTarget } from "./alarms/sqlite.js";
import { registerApi } from "./api.js";
import { createPasswordHasher, type PasswordHasher } from "./auth/passwords.js";
import { describeCaller } from "./auth/principal.js";
import type { Config } from "./config/env.js";
import { dashboardPlugin } from "./dashboard/plugin.js";
import { fleetRetentionTargets } from "./fleet/sqlite.js";
import { buildApp } from "./http/app.js";
import type { ReadinessCheck } from "./http/health.js";
import { registerObservability } from "./observability/http-plugin.js";
import { lockMetricsListener } from "./observability/lock-metrics.js";
import type { Logger } from "./observability/logger.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { requestScopedUsage } from "./observability/request-context.js";
import { type OpenedStores, openStores } from "./runtime/open-stores.js";
import { serviceLocks } from "./runtime/service-locks.js";
import { createServiceContext } from "./service.js";
import { type RunExclusive, startSessionSweeper } from "./sessions/sweeper.js";
import { runUnderLock } from "./sessions/sweeper-lock.js";
import type { SqliteDatabase } from "./storage/sqlite.js";
import { sqliteRetentionTargets } from "./stores/sqlite/retention.js";
import { RETENTION_LOCK_KEY, startRetentionJob } from "./stores/sqlite/retention-job.js";
import type { Clock } from "./stores/types.js";
import { fanOut, type UsageRecorder } from "./stores/usage.js";
import { ensureFirstRun } from "./tenancy/first-run.js";
import {
  DISPATCHER_LOCK_KEY,
  DISPATCHER_LOCK_TTL_MS,
  startWebhookDispatcher,
} from "./webhooks/dispatcher.js";
import { httpSender } from "./webhooks/sender.js";
import { webhookRetentionTargets } from "./webhooks/sqlite.js";

export interface RunningServer {
  app: FastifyInstance;
  sqlite: SqliteDatabase;
  stores: OpenedStores;
  /** The address the server listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  clock?: Clock;
  passwords?: PasswordHasher;
  /** Where the first run's generated admin password goes (once): stderr by default, so that stdout stays pure JSON log lines; never the log. */
  print?: (text: string) => void;
  /** Runs the session sweeper and the SQLite retention job under the cluster-wide lock (see `sessions/sweeper.ts`). */
  runExclusive?: RunExclusive;
  /** Receives every store call's billed reads and writes (metrics, per-request logs). */
  usage?: UsageRecorder;
  /** Prometheus metrics served at /metrics; a fresh set by default. */
  metrics?: Metrics;
  /** More readiness checks, e.g. the Firestore bootstrap document's schema compatibility. */
  readiness?: ReadinessCheck[];
}

/**
 * Opens the stores, builds the application, creates the demo tenant on an empty store, starts the
 * session sweeper and listens. `close()` stops accepting, drains, stops the jobs and closes storage.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const clock = options.clock ?? Date.now;
  const metrics = options.metrics ?? createMetrics();
  // Every store call counts towards the metrics and towards the log line of the request it serves.
  const usage = fanOut(metrics.usage, requestScopedUsage(), ...(options.usage ? [options.usage] : []));
  const opened = await openStores(config, {
    clock,
    usage,
    metrics,
    logger,
    checkpointWal: true,
    initializeFlags: true,
  });
  const { router, flags, fleet } = opened;
  const readiness: ReadinessCheck[] = [
    {
      name: "sqlite",
      check: () => {
        opened.sqlite.prepare("SELECT 1").get();
      },
    },
  ];
  readiness.push(...(options.readiness ?? []));
  // Clock drift against Firestore: a gauge always, and a readiness gate when the locks run on client time.
  const clockDrift = opened.firestore
    ? // Loaded only with Firestore: the lock's Firestore module loads the SDK.
      (await import("./locks/clock-drift.js")).startClockDriftMonitor({
        firestore: opened.firestore,
        metrics,
        logger,
      })
    : null;
  if (clockDrift && config.locks.timeAuthority === "client") readiness.push(clockDrift.readiness);
  if (opened.firestore) {
    const firestore = opened.firestore;
    // Firestore gates readiness only while an area is routed to it; the bootstrap document must then be
    // at this build's schema version (fail closed: an unprovisioned project is not ready).
    const inUse = () => Object.values(router.backends()).includes("firestore");
    const { bootstrapDocumentCheck } = await import("./bootstrap/index.js");
    const bootstrap = bootstrapDocumentCheck(firestore);
    readiness.push(
      {
        name: "firestore",
        check: async () => {
          if (inUse()) await firestore.collection("tenants").limit(1).get();
        },
      },
      {
        name: bootstrap.name,
        check: async () => {
          if (inUse()) await bootstrap.check();
        },
      },
    );
  }
  const app = await buildApp({
    logger,
    readiness,
    trustProxy: config.trustProxy,
    connections: config.connections,
    describeReadiness: () => ({ stores: router.backends() }),
  });
  // Before registerApi: its security hook's store reads must count towards the request's tally.
  registerObservability(app, { metrics, describeRequest: describeCaller });
  metrics.observeStorageBytes(
    "sqlite",
    () =>
      (opened.sqlite.pragma("page_count", { simple: true }) as number) *
      (opened.sqlite.pragma("page_size", { simple: true }) as number),
  );
  const ctx = createServiceContext({
    router,
    flags,
    fleet,
    alarms: opened.alarms,
    webhooks: opened.webhooks,
    webhookTargets: config.webhooks,
    clock,
    metrics,
    tenantHeader: config.tenantHeader,
    cookieSecure: config.cookieSecure,
    deviceWritesPerMinute: config.deviceWritesPerMinute,
    cacheMemoryBytes: config.cacheMemoryBytes,
    deviceOfflineAfterMs: config.deviceOfflineAfterMs,
    passwords: options.passwords ?? createPasswordHasher({ maxQueue: config.passwordQueue }),
    ...(opened.telemetryGate && { telemetryGate: opened.telemetryGate }),
    onError: (error, what) => logger.error({ err: error }, `${what} failed`),
  });
  await registerApi(app, ctx);
  metrics.observeLoginHashQueue(() => ctx.passwords.queueDepth());
  await app.register(dashboardPlugin, { tenantHeader: config.tenantHeader });
  // What every instance must hear of at once (docs/design/fleet.md): flag changes, and devices whose
  // token was rotated or which were deleted anywhere; while it is not heard, device lookups fall back
  // to their short cache time.
  // Alarm transitions' webhook deliveries: one sender for the fleet, under a service lock, each attempt's
  // outcome fenced (docs/design/webhooks.md). A transition wakes it here, and elsewhere through the feed.
  const webhookDispatcher = startWebhookDispatcher({
    webhooks: opened.webhooks,
    send: httpSender({ allowPrivate: config.webhooks.allowPrivate }),
    clock,
    runExclusive:
      options.runExclusive ??
      runUnderLock(await serviceLock(opened, config, metrics, "webhooks"), {
        key: DISPATCHER_LOCK_KEY,
        ttlMs: DISPATCHER_LOCK_TTL_MS,
      }),
    onError: (error) => logger.error({ err: error }, "webhook dispatch failed"),
  });
  opened.onDeliveriesEnqueued((tenant) => {
    webhookDispatcher.wake();
    fleet.changes
      .publish({ kind: "webhooks", tenant_id: tenant, subject: "deliveries" })
      .catch((error) =>
        logger.warn({ err: error }, "announcing webhook deliveries on the change feed failed"),
      );
  });
  let watchHealthy = false;
  const watch = fleet.watch({
    flags: (saved) => flags.observe(saved),
    change: (change) => {
      if (change.kind === "webhooks") return webhookDispatcher.wake();
      ctx.devices.forget(change.tenant_id, change.subject);
      // A device change may be a change of its alarm rules (alarms/evaluator.ts announces them so).
      ctx.alarmEvaluator.forget(change.tenant_id, change.subject);
    },
    health: (healthy) => {
      watchHealthy = healthy;
      ctx.devices.directory.feedHealthy(healthy);
      ctx.alarmEvaluator.feedHealthy(healthy);
      if (!healthy)
        logger.warn(
          "the service-wide state's watch is not established; device lookups use their short cache time",
        );
    },
    error: (error) => logger.warn({ err: error }, "the service-wide state's watch failed; it starts again"),
  });
  metrics.observeFleetWatch(() => watchHealthy);
  metrics.observeCacheBytes("latest_points", () => ctx.latestPoints.bytes);
  metrics.observeCacheBytes("devices", () => ctx.devices.directory.held.bytes);
  metrics.observeCacheBytes("limits", () => ctx.limits.bytes);
  metrics.observeCacheBytes("connectivity", () => ctx.connectivity.bytes);
  metrics.observeCacheBytes("alarm_rules", () => ctx.alarmEvaluator.bytes);
  metrics.observeCacheBytes("tenants", () => ctx.tenants.bytes);
  const sweeper = startSessionSweeper({
    stores: () => router.all().map(({ stores }) => stores.sessions),
    runExclusive: options.runExclusive ?? runUnderLock(await serviceLock(opened, config, metrics, "sweeper")),
    clock,
    onError: (error) => logger.error({ err: error }, "session sweep failed"),
  });
  // SQLite has no TTL: expired telemetry and audit entries are deleted by this job (every area's SQLite
  // tables, whichever store the flags route to: rows left behind by a cutover expire too).
  const retention = startRetentionJob({
    targets: [
      ...sqliteRetentionTargets(opened.sqlite),
      ...fleetRetentionTargets(opened.sqlite),
      alarmRetentionTarget(opened.sqlite),
      ...webhookRetentionTargets(opened.sqlite),
    ],
    runExclusive:
      options.runExclusive ??
      runUnderLock(await serviceLock(opened, config, metrics, "retention"), { key: RETENTION_LOCK_KEY }),
    clock,
    onError: (error) => logger.error({ err: error }, "SQLite retention failed"),
  });
  // Firestore trend rollups: lapsed intents repaired, quiet device-days folded into months, every
  // minute by one instance (docs/design/trends.md). Loaded only with Firestore.
  const rollupJob = opened.firestore ? await import("./stores/firestore/rollups/maintenance-job.js") : null;
  const rollups =
    opened.firestore && rollupJob
      ? rollupJob.startRollupMaintenanceJob({
          firestore: opened.firestore,
          clock,
          usage,
          timeZoneOf: (tenant) => ctx.tenantZones.of(tenant),
          runExclusive:
            options.runExclusive ??
            runUnderLock(await serviceLock(opened, config, metrics, "rollups"), {
              key: rollupJob.ROLLUP_LOCK_KEY,
            }),
          onError: (error) => logger.error({ err: error }, "Firestore rollup maintenance failed"),
        })
      : null;
  // Offline alarm rules: one sweep for the fleet, under a service lock, its transitions fenced.
  const offlineSweep = startOfflineSweep({
    alarms: opened.alarms,
    lastSeen: async (tenant, deviceId) =>
      (await router.stores.devices.get(tenant, deviceId))?.last_seen_ms ?? null,
    runExclusive:
      options.runExclusive ??
      runUnderLock(await serviceLock(opened, config, metrics, "alarms"), { key: OFFLINE_SWEEP_LOCK_KEY }),
    clock,
    onError: (error) => logger.error({ err: error }, "offline alarm sweep failed"),
  });
  /** The jobs stop, and a run in progress settles before storage closes under it. */
  const stopJobs = async () => {
    clockDrift?.stop();
    await Promise.all([
      offlineSweep.stop(),
      webhookDispatcher.stop(),
      watch.stop(),
      sweeper.stop(),
      retention.stop(),
      rollups?.stop(),
    ]);
  };

  try {
    const firstRun = await ensureFirstRun(router.stores, ctx.passwords);
    if (firstRun) {
      (options.print ?? ((text) => process.stderr.write(text)))(
        `\nFirst run: created tenant "${firstRun.tenant}" and user "${firstRun.username}" (admin).\n` +
          `Password (shown once, change it with POST /api/auth/password): ${firstRun.password}\n\n`,
      );
    }
    const url = await app.listen({ host: config.host, port: config.port });
    return {
      app,
      sqlite: opened.sqlite,
      stores: opened,
      url,
      async close() {
        await stopJobs();
        await app.close();
        await opened.close();
      },
    };
  } catch (error) {
    await stopJobs();
    await app.close();
    await opened.close();
    throw error;
  }
}

/** A job's lock, on the service's lock backend, reporting acquisitions and failures to the metrics as `name`. */
async function serviceLock(
  opened: OpenedStores,
  config: Config,
  metrics: Metrics,
  name: string,
): Promise<LockFunction> {
  const listener = lockMetricsListener(metrics, name);
  const { backend } = await serviceLocks(opened, config.locks);
  return createLock(withTelemetry(backend, listener), { onEvent: listener });
}
