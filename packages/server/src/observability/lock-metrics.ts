import type { Metrics } from "./metrics.js";

/**
 * The events `@firebrick/lock` reports (its `withTelemetry` and `lock()` hooks), described by shape so
 * that this module does not tie the server's metrics to the lock library's types.
 */
export type LockEventLike =
  | {
      type: "acquire" | "release" | "extend" | "isLocked" | "lookup";
      result: string;
      reason?: string;
      errorCode?: string;
    }
  | { type: "lock"; outcome: string };

/**
 * A lock event listener that counts acquisitions and failures under one lock name (`sweeper`,
 * `backfill-telemetry`…). Lock keys are not labels: they are many, and hashed in the events anyway.
 *
 * - `firebrick_lock_acquisitions_total{lock}`: each acquire that got the lock;
 * - `firebrick_lock_failures_total{lock,reason}`: `locked` (held by someone else), `lost` (an extension
 *   failed while held), `acquire_timeout`, or the lock error code (`ServiceUnavailable`…).
 *
 * @example
 * const backend = withTelemetry(createFirestoreBackend(db), lockMetricsListener(metrics, "sweeper"));
 */
export function lockMetricsListener(metrics: Metrics, lock: string): (event: LockEventLike) => void {
  return (event) => {
    if (event.type === "acquire") {
      if (event.result === "ok") metrics.lockAcquisitions.inc({ lock });
      else if (event.result === "fail") metrics.lockFailures.inc({ lock, reason: event.reason ?? "locked" });
      else metrics.lockFailures.inc({ lock, reason: event.errorCode ?? "error" });
    } else if (event.type === "lock") {
      if (event.outcome === "lost") metrics.lockFailures.inc({ lock, reason: "lost" });
      if (event.outcome === "acquire-timeout") metrics.lockFailures.inc({ lock, reason: "acquire_timeout" });
    }
  };
}
