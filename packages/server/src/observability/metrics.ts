import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StoreArea, StoreBackend, UsageRecorder } from "../stores/usage.js";

/**
 * Firebrick's Prometheus metrics (docs/design/observability.md), all on one registry so that `/metrics` shows
 * exactly these plus the process defaults, and tests can build as many independent sets as they like.
 *
 * Metric and label names are a stable interface: the alert rules in `infra/monitoring/` use them.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Request latency by route pattern (never the raw URL: ids would explode the series count). */
  readonly httpRequestDuration: Histogram<"method" | "route" | "status_code">;
  /** Latency of named service actions, e.g. `telemetry.latest` for the "last 100" SLO. */
  readonly actionDuration: Histogram<"action">;
  readonly storeReads: Counter<"backend" | "area">;
  readonly storeWrites: Counter<"backend" | "area">;
  /** Error responses by catalogue code (`VALIDATION_FAILED`, `UNAVAILABLE`…). */
  readonly errors: Counter<"code">;
  /** Requests refused by a rate limiter (login by IP, login by user…). */
  readonly rateLimitRejections: Counter<"limiter">;
  /** Requests refused by a cost budget (device writes per minute…). */
  readonly budgetRejections: Counter<"budget">;
  readonly lockAcquisitions: Counter<"lock">;
  /** Lock attempts that did not get or keep the lock: `locked`, `lost`, `error`. */
  readonly lockFailures: Counter<"lock" | "reason">;
  /** Store calls refused because a circuit breaker is open. */
  readonly breakerRejections: Counter<"endpoint">;
  /** 1 while an endpoint's breaker is open or half-open, 0 once it closes. */
  readonly breakerOpen: Gauge<"endpoint">;
  /** Documents per Firestore telemetry commit (group commit: concurrent requests share commits). */
  readonly telemetryCommitDocuments: Histogram;
  /** Feeds the store counters; compose it with a request tally via `fanOut`. */
  readonly usage: UsageRecorder;
  /** Reports the login hashing queue depth at every scrape. */
  observeLoginHashQueue(depth: () => number): void;
  /** Reports a backend's stored bytes at every scrape (SQLite: page_count × page_size). */
  observeStorageBytes(backend: StoreBackend, bytes: () => number): void;
  /** Reports the telemetry points waiting for a Firestore commit at every scrape. */
  observeTelemetryWriteQueue(depth: () => number): void;
  /** Reports the last measured clock drift against Firestore (ms, positive: local clock ahead) at every scrape. */
  observeLockClockDrift(driftMs: () => number | undefined): void;
  /** Reports whether the service-wide state's watch is established (1) or not (0) at every scrape. */
  observeFleetWatch(healthy: () => boolean): void;
  /** Reports a per-device cache's bytes (by estimate) at every scrape. */
  observeCacheBytes(cache: string, bytes: () => number): void;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC). On by default. */
  defaultMetrics?: boolean;
}

/** Bucket bounds in seconds, dense around the SLO edges (0.3 s P50, 0.8 s P95). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1, 2, 5, 10];

/**
 * Creates a fresh metrics set on its own registry.
 *
 * @example
 * const metrics = createMetrics();
 * const stores = createFirestoreStores(db, { clock, usage: fanOut(metrics.usage, requestScopedUsage()) });
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const storeReads = new Counter({
    name: "firebrick_store_reads_total",
    help: "Documents read (billed reads on Firestore: an empty query bills one)",
    labelNames: ["backend", "area"] as const,
    registers,
  });
  const storeWrites = new Counter({
    name: "firebrick_store_writes_total",
    help: "Documents written or deleted",
    labelNames: ["backend", "area"] as const,
    registers,
  });
  let loginHashQueueDepth: () => number = () => 0;
  new Gauge({
    name: "firebrick_login_hash_queue_depth",
    help: "Logins waiting for a password hashing slot",
    registers,
    collect() {
      this.set(loginHashQueueDepth());
    },
  });

  let telemetryWriteQueue: () => number = () => 0;
  new Gauge({
    name: "firebrick_telemetry_write_queue_documents",
    help: "Telemetry points waiting for a Firestore commit (group commit; writes are refused past 25000)",
    registers,
    collect() {
      this.set(telemetryWriteQueue());
    },
  });

  let lockClockDrift: () => number | undefined = () => undefined;
  new Gauge({
    name: "firebrick_lock_clock_drift_ms",
    help: "This instance's clock minus Firestore's commit time, in ms (client-time locks: alert at ±200, block at ±500)",
    registers,
    collect() {
      const drift = lockClockDrift();
      if (drift === undefined) this.reset();
      else this.set(drift);
    },
  });

  let fleetWatchHealthy: () => boolean = () => false;
  new Gauge({
    name: "firebrick_fleet_watch_healthy",
    help: "1 while this instance hears the service-wide state's changes (flags, device revocations) as they happen",
    registers,
    collect() {
      this.set(fleetWatchHealthy() ? 1 : 0);
    },
  });

  const cacheSources = new Map<string, () => number>();
  new Gauge({
    name: "firebrick_cache_bytes",
    help: "Bytes held by a per-device cache, by estimate (bounded by FIREBRICK_CACHE_MEMORY_MIB)",
    labelNames: ["cache"] as const,
    registers,
    collect() {
      for (const [cache, bytes] of cacheSources) this.set({ cache }, bytes());
    },
  });

  const storageSources = new Map<StoreBackend, () => number>();
  new Gauge({
    name: "firebrick_storage_bytes",
    help: "Bytes stored by a backend (the plan alerts above 1 GiB)",
    labelNames: ["backend"] as const,
    registers,
    collect() {
      for (const [backend, bytes] of storageSources) this.set({ backend }, bytes());
    },
  });

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route pattern and status",
      labelNames: ["method", "route", "status_code"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    actionDuration: new Histogram({
      name: "firebrick_action_duration_seconds",
      help: "Latency of named service actions (telemetry.latest carries the 'last 100' SLO)",
      labelNames: ["action"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeReads,
    storeWrites,
    errors: new Counter({
      name: "firebrick_errors_total",
      help: "Error responses by stable error code",
      labelNames: ["code"] as const,
      registers,
    }),
    rateLimitRejections: new Counter({
      name: "firebrick_rate_limit_rejections_total",
      help: "Requests refused by a rate limiter",
      labelNames: ["limiter"] as const,
      registers,
    }),
    budgetRejections: new Counter({
      name: "firebrick_budget_rejections_total",
      help: "Requests refused by a cost budget",
      labelNames: ["budget"] as const,
      registers,
    }),
    lockAcquisitions: new Counter({
      name: "firebrick_lock_acquisitions_total",
      help: "Locks acquired",
      labelNames: ["lock"] as const,
      registers,
    }),
    lockFailures: new Counter({
      name: "firebrick_lock_failures_total",
      help: "Lock attempts that did not get or keep the lock",
      labelNames: ["lock", "reason"] as const,
      registers,
    }),
    breakerRejections: new Counter({
      name: "firebrick_store_breaker_rejections_total",
      help: "Store calls failed fast because the endpoint's circuit breaker is open",
      labelNames: ["endpoint"] as const,
      registers,
    }),
    breakerOpen: new Gauge({
      name: "firebrick_store_breaker_open",
      help: "1 while a store endpoint's circuit breaker is open or half-open",
      labelNames: ["endpoint"] as const,
      registers,
    }),
    telemetryCommitDocuments: new Histogram({
      name: "firebrick_telemetry_commit_documents",
      help: "Documents per Firestore telemetry commit (concurrent writes share commits, at most 500)",
      buckets: [1, 5, 10, 25, 50, 100, 250, 500],
      registers,
    }),
    usage: {
      record(backend: StoreBackend, area: StoreArea, reads: number, writes: number) {
        if (reads > 0) storeReads.inc({ backend, area }, reads);
        if (writes > 0) storeWrites.inc({ backend, area }, writes);
      },
    },
    observeLoginHashQueue(depth) {
      loginHashQueueDepth = depth;
    },
    observeStorageBytes(backend, bytes) {
      storageSources.set(backend, bytes);
    },
    observeTelemetryWriteQueue(depth) {
      telemetryWriteQueue = depth;
    },
    observeLockClockDrift(driftMs) {
      lockClockDrift = driftMs;
    },
    observeFleetWatch(healthy) {
      fleetWatchHealthy = healthy;
    },
    observeCacheBytes(cache, bytes) {
      cacheSources.set(cache, bytes);
    },
  };
}
