import type { CommitObserver } from "../stores/firestore/index.js";
import type { Metrics } from "./metrics.js";

/**
 * Makes the telemetry store's group commits visible: documents per commit (a histogram) and points
 * waiting for a commit (a gauge read at each scrape).
 *
 * @example
 * createFirestoreStores(db, { ...options, commits: commitMetrics(metrics) });
 */
export function commitMetrics(metrics: Metrics): CommitObserver {
  return {
    committed: (documents) => metrics.telemetryCommitDocuments.observe(documents),
    queue: (depth) => metrics.observeTelemetryWriteQueue(depth),
  };
}
