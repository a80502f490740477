import { AsyncLocalStorage } from "node:async_hooks";
import { type UsageRecorder, UsageTally } from "../stores/usage.js";

/** What a request's log line says about it beyond method, route and status (docs/design/observability.md). */
export interface RequestFields {
  tenant_id?: string;
  device_id?: string;
  user_id?: string;
  /** A stable name for what the request does, e.g. `telemetry.latest`; defaults to `METHOD /route`. */
  action?: string;
}

/** The state of one request in flight; created by the observability plugin. */
export interface RequestState {
  readonly request_id: string;
  readonly fields: RequestFields;
  /** Documents read and written while serving this request. */
  readonly usage: UsageTally;
  /** Whether this request's debug lines are kept (one decision per request, so a sampled request is whole). */
  debugSampled: boolean | undefined;
}

const storage = new AsyncLocalStorage<RequestState>();

export function newRequestState(requestId: string): RequestState {
  return { request_id: requestId, fields: {}, usage: new UsageTally(), debugSampled: undefined };
}

/** Runs `fn` (and everything it schedules) as part of the request `state`. */
export function runInRequest<T>(state: RequestState, fn: () => T): T {
  return storage.run(state, fn);
}

/** The request being served, or undefined outside one (jobs, CLI, start-up). */
export function currentRequest(): RequestState | undefined {
  return storage.getStore();
}

export interface RequestContextHandle {
  /** Adds fields to the current request's log line; does nothing outside a request. */
  set(fields: RequestFields): void;
  /** The fields set so far (empty outside a request). */
  get(): Readonly<RequestFields>;
}

const handle: RequestContextHandle = {
  set(fields) {
    const state = storage.getStore();
    if (!state) return;
    for (const [key, value] of Object.entries(fields) as [keyof RequestFields, string | undefined][]) {
      if (value !== undefined) state.fields[key] = value;
    }
  },
  get() {
    return storage.getStore()?.fields ?? {};
  },
};

/**
 * The current request's context, for handlers and plugins that learn who is asking.
 *
 * @example
 * requestContext().set({ tenant_id: tenant, device_id: deviceId, action: "telemetry.latest" });
 */
export function requestContext(): RequestContextHandle {
  return handle;
}

const scopedUsage: UsageRecorder = {
  record(backend, area, reads, writes) {
    storage.getStore()?.usage.record(backend, area, reads, writes);
  },
};

/**
 * A `UsageRecorder` that adds each store call to the tally of the request it serves, so the request's
 * log line carries its reads and writes. Outside a request it records nothing.
 *
 * @example
 * createSqliteStores(db, { clock, usage: fanOut(metrics.usage, requestScopedUsage()) });
 */
export function requestScopedUsage(): UsageRecorder {
  return scopedUsage;
}
