import { createLock, type LockFunction, withTelemetry } from "@firebrick/lock";
import type { FastifyInstance } from "fastify";
import { registerApi } from "./api.js";
import type { PasswordHasher } from "./auth/passwords.js";
import { describeCaller } from "./auth/principal.js";
import { bootstrapDocumentCheck } from "./bootstrap/index.js";
import type { Config } from "./config/env.js";
import { dashboardPlugin } from "./dashboard/plugin.js";
import { buildApp } from "./http/app.js";
import type { ReadinessCheck } from "./http/health.js";
import { telemetryFlipGate } from "./migrate/cutover.js";
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
import type { Clock } from "./stores/types.js";
import { fanOut, type UsageRecorder } from "./stores/usage.js";
import { ensureFirstRun } from "./tenancy/first-run.js";

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
  /** Runs the session sweeper under the cluster-wide lock (see `sessions/sweeper.ts`). */
  runExclusive?: RunExclusive;
  /** Receives every store call's billed reads and writes (metrics, per-request logs). */
  usage?: UsageRecorder;
  /** Prometheus metrics served at /metrics; a fresh set by default. */
  metrics?: Metrics;
  /** More readiness checks, e.g. the Firestore bootstrap document's schema compatibility. */
  readiness?: ReadinessCheck[];
  /** How often flags are re-read, so that a change made through another instance arrives here too. */
  flagsRefreshMs?: number;
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
  const opened = openStores(config, { clock, usage, metrics, logger });
  const { router, flags } = opened;
  const readiness: ReadinessCheck[] = [
    {
      name: "sqlite",
      check: () => {
        opened.sqlite.prepare("SELECT 1").get();
      },
    },
  ];
  readiness.push(...(options.readiness ?? []));
  if (opened.firestore) {
    const firestore = opened.firestore;
    // Firestore gates readiness only while an area is routed to it; the bootstrap document must then be
    // at this build's schema version (fail closed: an unprovisioned project is not ready).
    const inUse = () => Object.values(router.backends()).includes("firestore");
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
    clock,
    metrics,
    tenantHeader: config.tenantHeader,
    cookieSecure: config.cookieSecure,
    deviceWritesPerMinute: config.deviceWritesPerMinute,
    ...(options.passwords && { passwords: options.passwords }),
    ...(opened.firestore && { telemetryFlipGate: telemetryFlipGate(opened.firestore, config.firestore) }),
  });
  await registerApi(app, ctx);
  metrics.observeLoginHashQueue(() => ctx.passwords.queueDepth());
  await app.register(dashboardPlugin, { tenantHeader: config.tenantHeader });
  const refresh = setInterval(() => {
    try {
      flags.reload();
    } catch (error) {
      logger.error({ err: error }, "reloading the flags failed");
    }
  }, options.flagsRefreshMs ?? 5000);
  refresh.unref();
  const sweeper = startSessionSweeper({
    stores: () => router.all().map(({ stores }) => stores.sessions),
    runExclusive: options.runExclusive ?? runUnderLock(sweeperLock(opened, metrics)),
    clock,
    onError: (error) => logger.error({ err: error }, "session sweep failed"),
  });
  const stopJobs = () => {
    clearInterval(refresh);
    sweeper.stop();
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
        stopJobs();
        await app.close();
        await opened.close();
      },
    };
  } catch (error) {
    stopJobs();
    await app.close();
    await opened.close();
    throw error;
  }
}

/** The sweeper's lock, on the service's lock backend, reporting acquisitions and failures to the metrics. */
function sweeperLock(opened: OpenedStores, metrics: Metrics): LockFunction {
  const listener = lockMetricsListener(metrics, "sweeper");
  return createLock(withTelemetry(serviceLocks(opened).backend, listener), { onEvent: listener });
}
