/**
 * Every store call reports the documents it read and wrote, counted the way Firestore bills them
 * (a query that returns nothing still bills one read). The service turns these into per-request log
 * fields and Prometheus counters; tests use them to prove read budgets.
 */
export type StoreBackend = "firestore" | "sqlite";
export type StoreArea =
  | "tenants"
  | "auth"
  | "sessions"
  | "devices"
  | "telemetry"
  /** Trend rollups (docs/design/trends.md), apart from the points so that their cost shows on its own. */
  | "rollups"
  | "audit"
  | "locks"
  | "flags"
  // Service-wide state (fleet/): limiter records, the change feed, the platform audit log.
  | "fleet"
  // Alarm rules and alarms (alarms/).
  | "alarms"
  // Webhooks, their deliveries and attempts (webhooks/).
  | "webhooks";

export interface UsageRecorder {
  record(backend: StoreBackend, area: StoreArea, reads: number, writes: number): void;
}

/** Records nothing; the default when a store is used outside the service. */
export const ignoreUsage: UsageRecorder = { record() {} };

/** Adds everything up; for tests and for per-request accounting. */
export class UsageTally implements UsageRecorder {
  reads = 0;
  writes = 0;
  readonly byArea = new Map<string, { reads: number; writes: number }>();

  record(backend: StoreBackend, area: StoreArea, reads: number, writes: number): void {
    this.reads += reads;
    this.writes += writes;
    const key = `${backend}:${area}`;
    const entry = this.byArea.get(key) ?? { reads: 0, writes: 0 };
    entry.reads += reads;
    entry.writes += writes;
    this.byArea.set(key, entry);
  }

  reset(): void {
    this.reads = 0;
    this.writes = 0;
    this.byArea.clear();
  }
}

/** Sends each record to several recorders (request tally, metrics…). */
export function fanOut(...recorders: UsageRecorder[]): UsageRecorder {
  return {
    record(backend, area, reads, writes) {
      for (const recorder of recorders) recorder.record(backend, area, reads, writes);
    },
  };
}
