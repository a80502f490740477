import { CLOCK_DRIFT_THRESHOLDS, type ClockDrift, measureClockDrift } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import type { ReadinessCheck } from "../http/health.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";

export interface ClockDriftMonitor {
  /** The last successful measurement, if any. */
  latest(): ClockDrift | undefined;
  /**
   * `/readyz` check for client-time locks: fails when this instance's clock is ±500 ms or more off
   * Firestore's, or cannot be measured; such an instance must not take locks on its own clock.
   */
  readonly readiness: ReadinessCheck;
  stop(): void;
}

export interface ClockDriftMonitorOptions {
  firestore: Firestore;
  metrics: Metrics;
  logger: Logger;
  /** Between measurements (default 60 s; each costs 3 document writes). */
  intervalMs?: number;
  /** The local clock to check (default `Date.now`); tests skew it. */
  now?: () => number;
}

/**
 * Measures this instance's clock against Firestore's commit time in the background (ADR-020,
 * docs/adr/ADR-020-clock-drift-checks.md): the `firebrick_lock_clock_drift_ms` gauge (alerted on at ±200 ms,
 * infra/monitoring/alert-policies/lock-clock-drift.json), a log line past ±200 ms, and a readiness check that
 * fails at ±500 ms, which the server adds when its locks run on client time.
 *
 * @example
 * const drift = startClockDriftMonitor({ firestore, metrics, logger });
 * if (config.locks.timeAuthority === "client") readiness.push(drift.readiness);
 */
export function startClockDriftMonitor(options: ClockDriftMonitorOptions): ClockDriftMonitor {
  const { firestore, metrics, logger } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  const measure = (db: Firestore) => measureClockDrift(db, options.now ? { now: options.now } : {});
  let last: { drift: ClockDrift; at: number } | undefined;
  let inFlight: Promise<ClockDrift | undefined> | undefined;
  let stopped = false;

  const sample = (): Promise<ClockDrift | undefined> => {
    inFlight ??= measure(firestore)
      .then((drift) => {
        if (stopped) return undefined;
        last = { drift, at: performance.now() };
        if (drift.level !== "ok") {
          logger[drift.level === "block" ? "error" : "warn"](
            { drift_ms: drift.driftMs, uncertainty_ms: drift.uncertaintyMs },
            `clock drift against Firestore is ${drift.driftMs} ms (alert at ±${CLOCK_DRIFT_THRESHOLDS.WARN_MS} ms, block at ±${CLOCK_DRIFT_THRESHOLDS.BLOCK_MS} ms)`,
          );
        }
        return drift;
      })
      .catch((error: unknown) => {
        if (!stopped) logger.warn({ err: error }, "measuring clock drift against Firestore failed");
        return undefined;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  metrics.observeLockClockDrift(() => last?.drift.driftMs);
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();

  return {
    latest: () => last?.drift,
    readiness: {
      name: "lock-clock",
      async check() {
        const fresh = last && performance.now() - last.at < 2 * intervalMs ? last.drift : await sample();
        if (!fresh) throw new Error("clock drift against Firestore could not be measured");
        if (fresh.level === "block") {
          throw new Error(
            `clock is ${fresh.driftMs} ms off Firestore's (limit ±${CLOCK_DRIFT_THRESHOLDS.BLOCK_MS} ms): client-time locks are unsafe`,
          );
        }
      },
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
