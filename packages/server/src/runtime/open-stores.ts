import { join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import { type Config, ConfigError } from "../config/env.js";
import { FlagsState, sqliteFlagsPersistence } from "../flags/flags.js";
import { routeStores, type StoreRouter } from "../flags/store-router.js";
import { commitMetrics } from "../observability/commit-metrics.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { resilienceHooks } from "../observability/resilience-hooks.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { startWalCheckpointer } from "../storage/sqlite-checkpointer.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { firestoreCallSettings, withResilience } from "../stores/resilience.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import { createSqliteStores } from "../stores/sqlite/index.js";
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
 * The Firestore SDK and stores are loaded only when Firestore is configured (they take most of a
 * second to load, which the embedded default should not pay).
 */
export async function openStores(
  config: Config,
  options: {
    clock?: Clock;
    usage?: UsageRecorder;
    metrics?: Metrics;
    logger?: Logger;
    /** Checkpoint SQLite's WAL in a worker thread (the server; a CLI command's few writes need not). */
    checkpointWal?: boolean;
  } = {},
): Promise<OpenedStores> {
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
  const telemetryCommits = new SqliteGroupCommit(sqlite);
  const firestore = firestoreConfigured ? await createFirestoreClient(config) : null;
  const storeOptions = {
    ...(options.clock && { clock: options.clock }),
    usage: options.usage ?? ignoreUsage,
  };
  const flags = new FlagsState(sqliteFlagsPersistence(sqlite), config.flags);
  // A Firestore outage fails fast as 503 UNAVAILABLE instead of hanging requests (stores/resilience.ts).
  const firestoreStores = firestore
    ? withResilience(
        (await import("../stores/firestore/index.js")).createFirestoreStores(firestore, {
          ...storeOptions,
          ...(options.metrics && { commits: commitMetrics(options.metrics) }),
        }),
        {
          backend: "firestore",
          ...(options.metrics && resilienceHooks(options.metrics, options.logger)),
        },
      )
    : null;
  const checkpointer = options.checkpointWal
    ? startWalCheckpointer(sqlite, {
        hold: () => telemetryCommits.pause(),
        onError: (error) => options.logger?.error({ err: error }, "SQLite WAL checkpoint failed"),
      })
    : null;
  const router = routeStores({
    sqlite: createSqliteStores(sqlite, { ...storeOptions, telemetryCommits }),
    firestore: firestoreStores,
    flags: () => flags.current(),
    ...(options.clock && { clock: options.clock }),
  });
  return {
    sqlite,
    firestore,
    router,
    flags,
    async close() {
      await checkpointer?.stop();
      sqlite.close();
      await firestoreStores?.resilience.drain(10_000);
      await firestore?.terminate();
    },
  };
}

/**
 * The one Firestore client factory: the emulator at `FIRESTORE_EMULATOR_HOST` when set, Application
 * Default Credentials otherwise; on the database `FIRESTORE_DATABASE_ID` names (`(default)` unless set).
 */
export async function createFirestoreClient(config: Config): Promise<Firestore> {
  const { Firestore } = await import("@google-cloud/firestore");
  const { projectId, emulatorHost, databaseId } = config.firestore;
  // Bounds the SDK's own per-RPC retries; withResilience bounds each call (see firestoreCallSettings).
  const callSettings = firestoreCallSettings({ timeoutMs: 5_000 });
  if (!emulatorHost) return new Firestore({ projectId, databaseId, ...callSettings });
  const separator = emulatorHost.lastIndexOf(":");
  return new Firestore({
    projectId: projectId ?? "demo-firebrick",
    databaseId,
    host: emulatorHost.slice(0, separator),
    port: Number(emulatorHost.slice(separator + 1)),
    ssl: false,
    ...callSettings,
  });
}
