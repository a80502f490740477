import { join } from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { type Config, ConfigError } from "../config/env.js";
import { commitMetrics } from "../observability/commit-metrics.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { resilienceHooks } from "../observability/resilience-hooks.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../stores/index.js";
import { firestoreCallSettings, withResilience } from "../stores/resilience.js";
import { FlagsState, sqliteFlagsPersistence } from "../stores/routing/flags.js";
import { routeStores, type StoreRouter } from "../stores/routing/router.js";
import type { Clock } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";

export interface OpenedStores {
  sqlite: SqliteDatabase;
  /** Present when a Firestore project or emulator is configured. */
  firestore: Firestore | null;
  router: StoreRouter;
  flags: FlagsState;
  close(): Promise<void>;
}

/**
 * Opens SQLite (always: it holds the settings and is the default store of every area) and Firestore
 * (when configured), and routes each area by the persisted flags, the environment's being the initial
 * values. The server and the CLI open their stores the same way, so they always agree on where data is.
 */
export function openStores(
  config: Config,
  options: { clock?: Clock; usage?: UsageRecorder; metrics?: Metrics; logger?: Logger } = {},
): OpenedStores {
  const { projectId, emulatorHost } = config.firestore;
  const firestoreConfigured = projectId !== undefined || emulatorHost !== undefined;
  if (!firestoreConfigured) {
    for (const [area, key] of [
      ["auth", "USE_FIRESTORE_AUTH"],
      ["audit", "USE_FIRESTORE_AUDIT"],
      ["telemetry", "USE_FIRESTORE_TELEMETRY"],
    ] as const) {
      if (config.flags[area])
        throw new ConfigError(key, "0 unless GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST is set", "1");
    }
  }
  const sqlite = openSqlite(join(config.dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  const firestore = firestoreConfigured ? createFirestoreClient(config) : null;
  const storeOptions = {
    ...(options.clock && { clock: options.clock }),
    usage: options.usage ?? ignoreUsage,
  };
  const flags = new FlagsState(sqliteFlagsPersistence(sqlite), config.flags);
  // A Firestore outage fails fast as 503 UNAVAILABLE instead of hanging requests (stores/resilience.ts).
  const firestoreStores = firestore
    ? withResilience(
        createFirestoreStores(firestore, {
          ...storeOptions,
          ...(options.metrics && { commits: commitMetrics(options.metrics) }),
        }),
        {
          backend: "firestore",
          ...(options.metrics && resilienceHooks(options.metrics, options.logger)),
        },
      )
    : null;
  const router = routeStores({
    sqlite: createSqliteStores(sqlite, storeOptions),
    firestore: firestoreStores,
    flags,
    ...(options.clock && { clock: options.clock }),
  });
  return {
    sqlite,
    firestore,
    router,
    flags,
    async close() {
      sqlite.close();
      await firestoreStores?.resilience.drain(10_000);
      await firestore?.terminate();
    },
  };
}

/**
 * The one Firestore client factory: the emulator at `FIRESTORE_EMULATOR_HOST` when set, Application
 * Default Credentials otherwise.
 */
export function createFirestoreClient(config: Config): Firestore {
  const { projectId, emulatorHost } = config.firestore;
  // Bounds the SDK's own per-RPC retries; withResilience bounds each call (see firestoreCallSettings).
  const callSettings = firestoreCallSettings({ timeoutMs: 5_000 });
  if (!emulatorHost) return new Firestore({ projectId, ...callSettings });
  const separator = emulatorHost.lastIndexOf(":");
  return new Firestore({
    projectId: projectId ?? "demo-firebrick",
    host: emulatorHost.slice(0, separator),
    port: Number(emulatorHost.slice(separator + 1)),
    ssl: false,
    ...callSettings,
  });
}
