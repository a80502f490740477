import { classifyFirestoreFailure, type FailureRetry, grpcStatusOf } from "@firebrick/lock/firestore";
import { StoreUnavailableError } from "./types.js";

/**
 * Retry, deadline and circuit breaker for store calls (the plan's retry policy, docs/design/failures.md):
 * a Firestore outage turns into a fast `StoreUnavailableError` (HTTP 503 `UNAVAILABLE`), never into a
 * request that hangs.
 *
 * - Every attempt is bounded by `attemptTimeoutMs`: the Firestore SDK keeps retrying an unreachable
 *   backend for minutes on its own, so the deadline is ours to set.
 * - Failures are classified in the one vocabulary for Firestore failures (`classifyFirestoreFailure`
 *   of `@firebrick/lock/firestore`, see `retryOfStoreFailure`). Transient ones (UNAVAILABLE,
 *   RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, INTERNAL, or our own deadline) are retried with
 *   exponential backoff and full jitter, at most `maxRetries` times and never past `totalDeadlineMs`.
 *   Other errors (conflicts, bad cursors, permission) pass through untouched on the first attempt.
 * - Calls that are not idempotent (`nonIdempotent`) are retried only when the backend surely did not
 *   act (`safe`: UNAVAILABLE, RESOURCE_EXHAUSTED); after a deadline, an ABORTED commit or an INTERNAL
 *   failure the outcome is unknown and the caller decides.
 * - Each endpoint (`store.method`) has its own breaker: `failureThreshold` consecutive transient failures
 *   open it; while open, calls fail at once without touching the backend; after `openMs` one probe
 *   call is let through (half-open) and its outcome closes or re-opens the breaker.
 */
export interface ResilienceOptions {
  /** Named in errors and metrics, e.g. "firestore". */
  backend?: string;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  attemptTimeoutMs?: number;
  totalDeadlineMs?: number;
  failureThreshold?: number;
  openMs?: number;
  /** Endpoints (`store.method`) that must not be repeated when their outcome is unknown. */
  nonIdempotent?: Iterable<string>;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called when a breaker changes state, for logs and metrics. */
  onStateChange?: (endpoint: string, state: BreakerState) => void;
  /** Called for each call refused by an open breaker. */
  onRejected?: (endpoint: string) => void;
}

export type BreakerState = "closed" | "open" | "half_open";

/** The breaker of this endpoint is open: the call was refused without reaching the backend. */
export class CircuitOpenError extends StoreUnavailableError {
  override name = "CircuitOpenError";
  constructor(
    readonly endpoint: string,
    /** When the breaker lets a probe through; the HTTP answer's `Retry-After`. */
    retryAfterMs: number,
  ) {
    super(`${endpoint} is unavailable (circuit open; retry in ${Math.ceil(retryAfterMs / 1000)} s)`, {
      retryAfterMs,
    });
  }
}

/** One attempt ran past its deadline; the backend may or may not have acted. */
export class CallTimeoutError extends Error {
  override name = "CallTimeoutError";
}

/**
 * What may be done after a failed store call, in the one vocabulary for Firestore failures
 * (`@firebrick/lock/firestore`): our own deadline leaves the outcome unknown (`if_idempotent`), and a
 * store that says it is unavailable is never a permanent answer, whatever its cause.
 */
export function retryOfStoreFailure(error: unknown): FailureRetry {
  if (error instanceof CallTimeoutError) return "if_idempotent";
  const { retry } = classifyFirestoreFailure(error);
  return retry === "never" && error instanceof StoreUnavailableError ? "if_idempotent" : retry;
}

class Breaker {
  state: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    readonly endpoint: string,
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly clock: () => number,
    private readonly onStateChange: ((endpoint: string, state: BreakerState) => void) | undefined,
  ) {}

  /** Whether an attempt may go out now; moves an open breaker to half-open when its time is up. */
  admit(): { ok: true } | { ok: false; retryAfterMs: number } {
    if (this.state === "closed") return { ok: true };
    const elapsed = this.clock() - this.openedAt;
    if (this.state === "open" && elapsed >= this.openMs) this.transition("half_open");
    if (this.state === "half_open" && !this.probing) {
      this.probing = true;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.max(this.openMs - elapsed, 0) };
  }

  succeeded(): void {
    this.failures = 0;
    this.probing = false;
    if (this.state !== "closed") this.transition("closed");
  }

  failed(): void {
    this.failures += 1;
    this.probing = false;
    if (this.state === "half_open" || (this.state === "closed" && this.failures >= this.threshold)) {
      this.openedAt = this.clock();
      this.transition("open");
    }
  }

  /** A permanent error answered: the backend is up, whatever the caller did wrong. */
  answered(): void {
    this.succeeded();
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.onStateChange?.(this.endpoint, state);
  }
}

/** The state of every breaker, for `/readyz` and tests. */
export interface ResilienceControl {
  breakerState(endpoint: string): BreakerState;
  /**
   * Waits (at most `timeoutMs`) for the calls abandoned at their deadline to finish inside the SDK.
   * Call it before `firestore.terminate()` on shutdown: the SDK keeps retrying an abandoned call, and a
   * retry after termination fails as an unhandled rejection.
   */
  drain(timeoutMs?: number): Promise<void>;
}

/** The store calls that must not be repeated when their outcome is unknown (a duplicate would show). */
export const DEFAULT_NON_IDEMPOTENT = ["tenants.create", "users.create", "devices.create", "audit.append"];

/**
 * Wraps every method of every store in `stores` (an object of store objects, e.g. `Stores`) with the
 * retry policy, deadlines and per-endpoint breakers. The result has the same type.
 *
 * @example
 * const firestoreStores = withResilience(createFirestoreStores(db, { clock, usage }), {
 *   backend: "firestore",
 *   onRejected: (endpoint) => metrics.breakerRejections.inc({ endpoint }),
 * });
 */
export function withResilience<T extends object>(
  stores: T,
  options: ResilienceOptions = {},
): T & { readonly resilience: ResilienceControl } {
  const config = {
    backend: options.backend ?? "firestore",
    maxRetries: options.maxRetries ?? 3,
    baseDelayMs: options.baseDelayMs ?? 50,
    maxDelayMs: options.maxDelayMs ?? 1000,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 5000,
    totalDeadlineMs: options.totalDeadlineMs ?? 10_000,
    failureThreshold: options.failureThreshold ?? 5,
    openMs: options.openMs ?? 10_000,
    nonIdempotent: new Set(options.nonIdempotent ?? DEFAULT_NON_IDEMPOTENT),
    clock: options.clock ?? Date.now,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
  };
  const breakers = new Map<string, Breaker>();
  const breakerFor = (endpoint: string): Breaker => {
    let breaker = breakers.get(endpoint);
    if (!breaker) {
      breaker = new Breaker(
        endpoint,
        config.failureThreshold,
        config.openMs,
        config.clock,
        options.onStateChange,
      );
      breakers.set(endpoint, breaker);
    }
    return breaker;
  };

  const abandoned = new Set<Promise<unknown>>();
  const withDeadline = <T>(promise: Promise<T>, endpoint: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const forget = (): void => {
          abandoned.delete(settled);
        };
        const settled: Promise<void> = promise.then(forget, forget);
        abandoned.add(settled);
        reject(new CallTimeoutError(`${endpoint} did not answer within ${config.attemptTimeoutMs} ms`));
      }, config.attemptTimeoutMs);
    });
    // The abandoned call may still fail later; that failure is already accounted for.
    promise.catch(() => {});
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  };

  async function call(endpoint: string, invoke: () => Promise<unknown>): Promise<unknown> {
    const breaker = breakerFor(endpoint);
    const started = config.clock();
    const idempotent = !config.nonIdempotent.has(endpoint);
    for (let attempt = 0; ; attempt++) {
      const admission = breaker.admit();
      if (!admission.ok) {
        options.onRejected?.(endpoint);
        throw new CircuitOpenError(`${config.backend} ${endpoint}`, admission.retryAfterMs);
      }
      try {
        const result = await withDeadline(invoke(), endpoint);
        breaker.succeeded();
        return result;
      } catch (error) {
        const retry = retryOfStoreFailure(error);
        if (retry === "never") {
          breaker.answered();
          throw error;
        }
        breaker.failed();
        const retryable = retry === "safe" || idempotent;
        const delay = fullJitterDelay(attempt, config.baseDelayMs, config.maxDelayMs, config.random);
        const withinDeadline = config.clock() - started + delay < config.totalDeadlineMs;
        if (!retryable || attempt >= config.maxRetries || !withinDeadline) {
          throw new StoreUnavailableError(
            `${config.backend} ${endpoint} is unavailable: ${describe(error)}`,
            {
              cause: error,
            },
          );
        }
        await config.sleep(delay);
      }
    }
  }

  const wrapped: Record<string | symbol, unknown> = {};
  for (const [name, store] of Object.entries(stores)) {
    wrapped[name] =
      store !== null && typeof store === "object" ? wrapStore(name, store as object, call) : store;
  }
  wrapped.resilience = {
    breakerState: (endpoint: string) => breakers.get(endpoint)?.state ?? "closed",
    async drain(timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...abandoned]), bound]);
      clearTimeout(timer);
    },
  } satisfies ResilienceControl;
  return wrapped as T & { resilience: ResilienceControl };
}

function wrapStore(
  storeName: string,
  store: object,
  call: (endpoint: string, invoke: () => Promise<unknown>) => Promise<unknown>,
): object {
  const cache = new Map<string | symbol, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property === "symbol") return value;
      let method = cache.get(property);
      if (!method) {
        const endpoint = `${storeName}.${property}`;
        method = (...args: unknown[]) => call(endpoint, () => Promise.resolve(value.apply(target, args)));
        cache.set(property, method);
      }
      return method;
    },
  });
}

/**
 * The retry delay of every retry loop of the service: full jitter (AWS architecture blog), a uniform
 * delay in [0, min(max, base·2^attempt)].
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

function describe(error: unknown): string {
  if (error instanceof CallTimeoutError) return error.message;
  return grpcStatusOf(error) ?? (error instanceof Error ? error.name : "unknown error");
}

/**
 * Firestore client settings that bound each RPC inside the SDK (the GAPIC `clientConfig`: per-method
 * timeout and total retry time), the only call timeout the SDK accepts; its public calls take none.
 * They do not bound an outage on their own: measured on the emulator after stopping it, a `get()`
 * still took ~40 s to fail and a `set()` hung past 150 s with these at 2 s, because the SDK's own retry
 * layer and the gRPC reconnects sit outside them. `withResilience`'s per-attempt deadline is the bound
 * that holds; these settings only keep abandoned calls from retrying for the default 10 minutes.
 *
 * @example
 * new Firestore({ projectId, ...firestoreCallSettings({ timeoutMs: 5000 }) });
 */
export function firestoreCallSettings({ timeoutMs }: { timeoutMs: number }): { clientConfig: object } {
  const methods = [
    "GetDocument",
    "ListDocuments",
    "CreateDocument",
    "UpdateDocument",
    "DeleteDocument",
    "BatchGetDocuments",
    "BeginTransaction",
    "Commit",
    "Rollback",
    "RunQuery",
    "RunAggregationQuery",
    "PartitionQuery",
    "ListCollectionIds",
    "BatchWrite",
  ];
  return {
    clientConfig: {
      interfaces: {
        "google.firestore.v1.Firestore": {
          retry_params: {
            default: {
              initial_retry_delay_millis: 100,
              retry_delay_multiplier: 1.3,
              max_retry_delay_millis: Math.max(100, Math.floor(timeoutMs / 4)),
              initial_rpc_timeout_millis: timeoutMs,
              rpc_timeout_multiplier: 1,
              max_rpc_timeout_millis: timeoutMs,
              total_timeout_millis: timeoutMs,
            },
          },
          methods: Object.fromEntries(methods.map((method) => [method, { timeout_millis: timeoutMs }])),
        },
      },
    },
  };
}
