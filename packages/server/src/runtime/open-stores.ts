import { join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import { createSqliteAlarmsStore } from "../alarms/sqlite.js";
import type { AlarmsStore } from "../alarms/types.js";
import {
  type Config,
  ConfigError,
  DEFAULT_EMULATOR_PROJECT,
  type FirestoreTarget,
  flagVariable,
} from "../config/env.js";
import { createSqliteFleetState } from "../fleet/sqlite.js";
import type { FleetState, SavedFlags } from "../fleet/types.js";
import { commitMetrics } from "../observability/commit-metrics.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { resilienceHooks } from "../observability/resilience-hooks.js";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { startWalCheckpointer } from "../storage/sqlite-checkpointer.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { DEFAULT_NON_IDEMPOTENT, firestoreCallSettings, withResilience } from "../stores/resilience.js";
import { AREAS } from "../stores/routing/areas.js";
import { FlagChangeRefusedError, type TelemetryFlipGate } from "../stores/routing/flag-change.js";
import { completeFlags, FlagsState } from "../stores/routing/flags.js";
import { routeStores, type StoreRouter } from "../stores/routing/router.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import { createSqliteStores } from "../stores/sqlite/index.js";
import type { Clock, TenantId } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";
import { createSqliteWebhooksStore } from "../webhooks/sqlite.js";
import type { WebhooksStore } from "../webhooks/types.js";

export interface OpenedStores {
  sqlite: SqliteDatabase;
  /** Present when a Firestore project or emulator is configured. */
  firestore: Firestore | null;
  router: StoreRouter;
  flags: FlagsState;
  /** The service-wide state (docs/design/fleet.md): Firestore when configured, else the SQLite file. */
  fleet: FleetState;
  /** Alarm rules and alarms (docs/design/alarms.md): beside the service-wide state, where it is. */
  alarms: AlarmsStore;
  /** Webhooks and their deliveries (docs/design/webhooks.md): beside the alarms, where they are. */
  webhooks: WebhooksStore;
  /** Calls `listener` once an alarm transition's webhook deliveries are committed (the dispatcher wakes). */
  onDeliveriesEnqueued(listener: (tenant: TenantId) => void): void;
  /** The readiness gate of telemetry reads moving to Firestore; absent without Firestore. */
  telemetryGate: TelemetryFlipGate | undefined;
  close(): Promise<void>;
}

/**
 * Opens SQLite (always: it is the default store of every area) and Firestore (when configured), and the
 * service-wide state (docs/design/fleet.md) in Firestore if there is one, else in the SQLite file; then
 * routes each area by the service-wide flags. The server and the CLI open their stores the same way, so
 * they always agree on where data is. The Firestore SDK and stores are loaded only when Firestore is
 * configured (they take most of a second to load, which the embedded default should not pay).
 *
 * The flags: once saved, the saved ones are in force everywhere and the environment's
 * `USE_FIRESTORE_*` are ignored (a warning says so). A service whose flags were never saved takes them
 * from the environment (and, moving onto Firestore, from this data dir's own saved flags); the server
 * (`initializeFlags`) saves them then, after the readiness gate when they put telemetry on Firestore.
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
    /** Save the flags in force when none are saved yet (the server does; CLI commands do not). */
    initializeFlags?: boolean;
    /** Another readiness gate than the index state's (a test's: the emulator's indexes are always READY). */
    telemetryGate?: TelemetryFlipGate;
  } = {},
): Promise<OpenedStores> {
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
  const telemetryCommits = new SqliteGroupCommit(sqlite);
  const firestore = await createFirestoreClient(config.firestore);
  const storeOptions = {
    ...(options.clock && { clock: options.clock }),
    usage: options.usage ?? ignoreUsage,
  };
  const clock = options.clock ?? Date.now;
  const localFleet = createSqliteFleetState(sqlite, { ...storeOptions, commits: telemetryCommits });
  const resilience = {
    backend: "firestore",
    ...(options.metrics && resilienceHooks(options.metrics, options.logger)),
  };
  // A Firestore outage fails fast as 503 UNAVAILABLE instead of hanging requests (stores/resilience.ts).
  const firestoreStores = firestore
    ? withResilience(
        (await import("../stores/firestore/index.js")).createFirestoreStores(firestore, {
          ...storeOptions,
          ...(options.metrics && { commits: commitMetrics(options.metrics) }),
        }),
        resilience,
      )
    : null;
  const firestoreFleet = firestore
    ? withResilience(
        (await import("../fleet/firestore.js")).createFirestoreFleetState(firestore, storeOptions),
        {
          ...resilience,
          // A record written twice would charge a limit twice; an entry appended twice would show twice.
          nonIdempotent: [...DEFAULT_NON_IDEMPOTENT, "records.write", "platformAudit.append"],
        },
      )
    : null;
  const fleet: FleetState = firestoreFleet ?? localFleet;
  const enqueuedListeners: ((tenant: TenantId) => void)[] = [];
  const alarmOptions = {
    ...storeOptions,
    onDeliveriesEnqueued: (tenant: TenantId) => {
      for (const listener of enqueuedListeners) listener(tenant);
    },
  };
  // Alarm state must agree between instances, like the service-wide state: where that is.
  const alarms = firestore
    ? withResilience(
        {
          alarms: (await import("../alarms/firestore.js")).createFirestoreAlarmsStore(
            firestore,
            alarmOptions,
          ),
          webhooks: (await import("../webhooks/firestore.js")).createFirestoreWebhooksStore(
            firestore,
            storeOptions,
          ),
        },
        // A rule or webhook created twice would be two (a transition retried is judged again on what it
        // wrote; an attempt recorded again is refused as stale).
        {
          ...resilience,
          nonIdempotent: [...DEFAULT_NON_IDEMPOTENT, "alarms.createRule", "webhooks.create"],
        },
      )
    : null;
  const telemetryGate = firestore
    ? (options.telemetryGate ??
      // Loaded only with Firestore: the gate's modules load the GCP clients.
      (await import("../migrate/cutover.js")).telemetryFlipGate(firestore, config))
    : undefined;
  const saved = await savedFlags(config, fleet, firestore ? localFleet : null, {
    initialize: options.initializeFlags ?? false,
    telemetryGate,
    at: clock(),
  }).catch(async (error: unknown) => {
    // A refused start leaves nothing open behind it.
    await firestore?.terminate();
    sqlite.close();
    throw error;
  });
  for (const area of AREAS) {
    if (config.flags[area] && !saved.flags[area]) {
      options.logger?.warn(
        `${flagVariable(area)}=1 is not in force: the service-wide flags keep ${area} on SQLite ` +
          `(saved by ${saved.by ?? "an earlier start"}); the platform operator changes them with firebrick flags set`,
      );
    }
  }
  const flags = new FlagsState(fleet.flags, completeFlags(config.flags, saved.flags));
  const checkpointer = options.checkpointWal
    ? startWalCheckpointer(sqlite, {
        hold: () => telemetryCommits.pause(),
        onError: (error) => options.logger?.error({ err: error }, "SQLite WAL checkpoint failed"),
      })
    : null;
  const router = routeStores({
    sqlite: createSqliteStores(sqlite, { ...storeOptions, telemetryCommits }),
    firestore: firestoreStores,
    flags,
    ...(options.clock && { clock: options.clock }),
  });
  return {
    sqlite,
    firestore,
    router,
    flags,
    fleet,
    alarms: alarms?.alarms ?? createSqliteAlarmsStore(sqlite, alarmOptions),
    webhooks: alarms?.webhooks ?? createSqliteWebhooksStore(sqlite, storeOptions),
    onDeliveriesEnqueued(listener) {
      enqueuedListeners.push(listener);
    },
    telemetryGate,
    async close() {
      await checkpointer?.stop();
      sqlite.close();
      // Rollup updates held back for fast devices are written before the client goes; one that cannot
      // be is repaired from raw points once its intent lapses (docs/design/trends.md).
      await firestoreStores?.telemetry
        .flush()
        .catch((error) => options.logger?.error({ err: error }, "flushing held-back rollups failed"));
      await firestoreStores?.resilience.drain(10_000);
      await firestoreFleet?.resilience.drain(10_000);
      await alarms?.resilience.drain(10_000);
      await firestore?.terminate();
    },
  };
}

/**
 * The flags saved in the service-wide state; when there are none yet, those the service starts with:
 * the environment's, over which (moving onto Firestore) this data dir's own saved flags win. With
 * `initialize` they are saved, so that every instance agrees from then on, but telemetry reads go to
 * Firestore only past the readiness gate (the start refuses otherwise).
 */
async function savedFlags(
  config: Config,
  fleet: FleetState,
  localFleet: FleetState | null,
  options: { initialize: boolean; telemetryGate: TelemetryFlipGate | undefined; at: number },
): Promise<SavedFlags> {
  const saved = await fleet.flags.load();
  if (saved) return saved;
  const local = await localFleet?.flags.load();
  const initial = completeFlags(config.flags, local?.flags);
  if (!options.initialize) return { flags: initial, by: null, updatedAt: 0 };
  if (initial.telemetry && options.telemetryGate) {
    const blockers = await options.telemetryGate({ endingDualWrite: initial.telemetry_dual_write });
    if (blockers.length > 0) {
      throw new FlagChangeRefusedError(
        "telemetry_flip_blocked",
        `telemetry reads cannot start on Firestore: ${blockers.join("; ")}; start with USE_FIRESTORE_TELEMETRY=0 ` +
          "and move them later with firebrick flags set telemetry=on",
      );
    }
  }
  return fleet.flags.initialize(initial, local ? "data dir flags" : "environment", options.at);
}

/**
 * The one Firestore client factory: the emulator at `FIRESTORE_EMULATOR_HOST` when set, Application
 * Default Credentials otherwise, on the database `FIRESTORE_DATABASE_ID` names (`(default)` unless set);
 * none (null) when no Firestore is configured. The SDK is loaded only here, when it is needed.
 *
 * @example
 * const db = await createFirestoreClient(config.firestore);
 */
export function createFirestoreClient(target: Exclude<FirestoreTarget, { kind: "none" }>): Promise<Firestore>;
export function createFirestoreClient(target: FirestoreTarget): Promise<Firestore | null>;
export async function createFirestoreClient(target: FirestoreTarget): Promise<Firestore | null> {
  if (target.kind === "none") return null;
  const { Firestore } = await import("@google-cloud/firestore");
  // Bounds the SDK's own per-RPC retries; withResilience bounds each call (see firestoreCallSettings).
  const callSettings = firestoreCallSettings({ timeoutMs: 5_000 });
  if (target.kind === "project") {
    return new Firestore({ projectId: target.projectId, databaseId: target.databaseId, ...callSettings });
  }
  const { GoogleAuth, OAuth2Client } = await import("google-auth-library");
  // Host and port apart: the SDK lets a FIRESTORE_EMULATOR_HOST in the process's environment replace
  // the host it is given, but never a port given on its own.
  const separator = target.host.lastIndexOf(":");
  return new Firestore({
    projectId: target.projectId ?? DEFAULT_EMULATOR_PROJECT,
    databaseId: target.databaseId,
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
