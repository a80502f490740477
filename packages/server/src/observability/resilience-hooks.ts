import type { BreakerState, ResilienceOptions } from "../stores/resilience.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/**
 * The `withResilience` hooks that make breakers visible: a gauge per endpoint, a counter of calls
 * refused while open, and a warning in the log at each change of state.
 *
 * @example
 * withResilience(createFirestoreStores(db, options), { backend: "firestore", ...resilienceHooks(metrics, logger) });
 */
export function resilienceHooks(
  metrics: Metrics,
  logger?: Logger,
): Pick<ResilienceOptions, "onStateChange" | "onRejected"> {
  return {
    onStateChange(endpoint: string, state: BreakerState) {
      metrics.breakerOpen.set({ endpoint }, state === "closed" ? 0 : 1);
      logger?.warn({ endpoint, breaker: state }, `store circuit breaker ${state.replace("_", "-")}`);
    },
    onRejected(endpoint: string) {
      metrics.breakerRejections.inc({ endpoint });
    },
  };
}
