import { join } from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { GoogleAuth, OAuth2Client } from "google-auth-library";
import {
  type Config,
  ConfigError,
  DEFAULT_EMULATOR_PROJECT,
  type FirestoreTarget,
  flagVariable,
} from "../config/env.js";
import { commitMetrics } from "../observability/commit-metrics.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { resilienceHooks } from "../observability/resilience-hooks.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../stores/index.js";
import { firestoreCallSettings, withResilience } from "../stores/resilience.js";
import { AREAS } from "../stores/routing/areas.js";
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
  for (const area of AREAS) {
    if (config.flags[area] && config.firestore.kind === "none") {
      throw new ConfigError(
        flagVariable(area),
        "0 unless GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST is set",
        "1",
      );
    }
  }
  const sqlite = openSqlite(join(config.dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  const firestore = createFirestoreClient(config.firestore);
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
 * Default Credentials otherwise; none (null) when no Firestore is configured.
 *
 * @example
 * const db = createFirestoreClient(config.firestore);
 */
export function createFirestoreClient(target: Exclude<FirestoreTarget, { kind: "none" }>): Firestore;
export function createFirestoreClient(target: FirestoreTarget): Firestore | null;
export function createFirestoreClient(target: FirestoreTarget): Firestore | null {
  // Bounds the SDK's own per-RPC retries; withResilience bounds each call (see firestoreCallSettings).
  const callSettings = firestoreCallSettings({ timeoutMs: 5_000 });
  switch (target.kind) {
    case "none":
      return null;
    case "project":
      return new Firestore({ projectId: target.projectId, ...callSettings });
    case "emulator": {
      // Host and port apart: the SDK lets a FIRESTORE_EMULATOR_HOST in the process's environment replace
      // the host it is given, but never a port given on its own.
      const separator = target.host.lastIndexOf(":");
      return new Firestore({
        projectId: target.projectId ?? DEFAULT_EMULATOR_PROJECT,
        host: target.host.slice(0, separator),
        port: Number(target.host.slice(separator + 1)),
        // Without TLS the SDK talks to the emulator as its owner.
        ssl: false,
        // The emulator needs no credentials. Without a client of its own, the SDK would look for
        // Application Default Credentials and probe the GCE metadata server (a warning, and a delay).
        auth: new GoogleAuth({ authClient: new OAuth2Client() }),
        ...callSettings,
      });
    }
  }
}
