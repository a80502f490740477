import { abortableDelay } from "./abort.js";
import { mergeAcquisitionConfig } from "./config.js";
import { BACKEND_DEFAULTS, DEFAULT_MAX_EXTENSIONS } from "./constants.js";
import { hashKey } from "./crypto.js";
import { defaultDisposalErrorHandler, reportReleaseError } from "./disposable.js";
import { isTransientLockError, LockError } from "./errors.js";
import { emit, type LockRunEvent } from "./telemetry.js";
import type {
  AcquireOk,
  AcquisitionOptions,
  BackendCapabilities,
  ExtendResult,
  LockBackend,
  OnReleaseError,
} from "./types.js";
import { normalizeAndValidateKey, validateTtlMs } from "./validation.js";

export interface AutoExtendOptions {
  /** How often to extend; default a third of the TTL, so one failed heartbeat still leaves time for another. */
  intervalMs?: number;
  /** Stop extending after this many extensions (default 1000); the lock then runs out at its TTL. */
  maxExtensions?: number;
}

export interface LockOptions {
  key: string;
  ttlMs?: number;
  /** Aborts acquisition (also the wait between retries) and is passed on to `fn`. */
  signal?: AbortSignal;
  acquisition?: AcquisitionOptions;
  /** `true`, a heartbeat interval in ms, or options: keep extending the lock while `fn` runs. */
  autoExtend?: boolean | number | AutoExtendOptions;
  /** Called when the release after `fn` fails (default: logged outside production); the lock then expires at its TTL. */
  onReleaseError?: OnReleaseError;
}

/** SyncGuard's name for `lock()`'s options. */
export type LockConfig = LockOptions;

/** What the critical section sees. */
export interface LockContext {
  readonly fence: string;
  readonly lockId: string;
  /**
   * Aborts when the lock is lost (an extension was refused, or the TTL ran out without one) or when the
   * caller's own signal aborts. Pass it to every call made under the lock.
   */
  readonly signal: AbortSignal;
  /** Extends by hand (resets the TTL to `ttlMs` from now). */
  extend(ttlMs?: number): Promise<ExtendResult>;
}

export interface CreateLockOptions {
  /** Receives a `LockRunEvent` per `lock()` call: acquire latency, hold time, outcome. */
  onEvent?: (event: LockRunEvent) => void;
}

export type LockFunction = <T>(
  fn: (context: LockContext) => Promise<T> | T,
  options: LockOptions,
) => Promise<T>;

/**
 * Returns `lock(fn, options)`: acquires with retries, runs `fn` under the lock, always releases.
 *
 * @example
 * const lock = createLock(createFirestoreBackend(db));
 * await lock(async ({ fence, signal }) => writeCheckpoint(fence, signal), { key: "job:backfill", autoExtend: true });
 */
export function createLock<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  createOptions: CreateLockOptions = {},
): LockFunction {
  return async function lock<T>(
    fn: (context: LockContext) => Promise<T> | T,
    options: LockOptions,
  ): Promise<T> {
    const key = normalizeAndValidateKey(options.key);
    const ttlMs = validateTtlMs(options.ttlMs ?? BACKEND_DEFAULTS.ttlMs);
    const heartbeat = resolveAutoExtend(options.autoExtend, ttlMs);
    const event: LockRunEvent = {
      type: "lock",
      outcome: "acquire-error",
      attempts: 0,
      acquireMs: 0,
      extensions: 0,
      keyHash: hashKey(key),
    };
    const started = performance.now();
    let acquired: AcquireOk<C> & { requestedAt: number };
    try {
      acquired = await acquireWithRetries(backend, key, ttlMs, options, event);
    } catch (error) {
      event.acquireMs = performance.now() - started;
      event.outcome =
        error instanceof LockError && error.code === "AcquisitionTimeout"
          ? "acquire-timeout"
          : error instanceof LockError && error.code === "Aborted"
            ? "aborted"
            : "acquire-error";
      emit(createOptions.onEvent, event);
      throw error;
    }
    const heldSince = performance.now();
    event.acquireMs = heldSince - started;
    event.fence = acquired.fence;
    const hold = new Hold(backend, acquired.lockId, ttlMs, acquired.requestedAt, heartbeat, event);
    const signal = options.signal ? AbortSignal.any([hold.lost.signal, options.signal]) : hold.lost.signal;
    try {
      const result = await fn({
        fence: acquired.fence as string,
        lockId: acquired.lockId,
        signal,
        extend: (extendTtlMs = ttlMs) => hold.extend(extendTtlMs),
      });
      event.outcome = hold.lost.signal.aborted ? "lost" : "released";
      return result;
    } catch (error) {
      event.outcome = hold.lost.signal.aborted ? "lost" : "error";
      throw error;
    } finally {
      await hold.stop();
      try {
        await backend.release({ lockId: acquired.lockId });
      } catch (error) {
        // The lock expires at its TTL; fn's own outcome is what the caller gets.
        reportReleaseError(options.onReleaseError ?? defaultDisposalErrorHandler, error, {
          lockId: acquired.lockId,
          key,
        });
      }
      event.holdMs = performance.now() - heldSince;
      emit(createOptions.onEvent, event);
    }
  };
}

async function acquireWithRetries<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  key: string,
  ttlMs: number,
  options: LockOptions,
  event: LockRunEvent,
): Promise<AcquireOk<C> & { requestedAt: number }> {
  const settings = mergeAcquisitionConfig(options.acquisition);
  const started = performance.now();
  const deadline = started + settings.timeoutMs;
  const signals = [options.signal, settings.signal].filter((s): s is AbortSignal => s !== undefined);
  const waitSignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  // Messages follow SyncGuard's wording, which code written against it matches on.
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) {
      throw new LockError("Aborted", "Operation cancelled by user signal", {
        key,
        cause: options.signal.reason,
      });
    }
    if (settings.signal?.aborted) {
      throw new LockError("Aborted", "Acquisition cancelled by acquisition signal", {
        key,
        cause: settings.signal.reason,
      });
    }
    if (attempt > 0 && performance.now() > deadline) {
      const elapsed = Math.round(performance.now() - started);
      throw new LockError(
        "AcquisitionTimeout",
        `Failed to acquire lock after ${elapsed}ms (${attempt} attempts)`,
        {
          key,
        },
      );
    }
    event.attempts = attempt + 1;
    // The backend computes the expiry after this moment, so a local timer started here never outlives it.
    const requestedAt = performance.now();
    try {
      const result = await backend.acquire({ key, ttlMs, signal: options.signal });
      if (result.ok) return Object.assign(result, { requestedAt });
    } catch (error) {
      if (!(error instanceof LockError)) {
        throw new LockError("Internal", error instanceof Error ? error.message : String(error), {
          key,
          cause: error,
        });
      }
      if (!isTransientLockError(error)) throw error;
      if (attempt >= settings.maxRetries) {
        throw new LockError("AcquisitionTimeout", "Failed to acquire lock: transient errors persisted", {
          key,
          cause: error,
        });
      }
    }
    if (attempt >= settings.maxRetries) {
      throw new LockError(
        "AcquisitionTimeout",
        `Failed to acquire lock after ${attempt + 1} attempts (lock contention)`,
        { key },
      );
    }
    const remaining = Math.max(0, deadline - performance.now());
    // An abort during the wait ends it at once; the checks above then say which signal it was.
    await abortableDelay(Math.min(retryDelay(attempt, settings), remaining), waitSignal).catch(
      () => undefined,
    );
  }
}

/** The wait before retry number `attempt + 1`. */
export function retryDelay(
  attempt: number,
  settings: Required<Pick<AcquisitionOptions, "retryDelayMs" | "backoff" | "jitter">>,
  random: () => number = Math.random,
): number {
  const base =
    settings.backoff === "exponential"
      ? settings.retryDelayMs * 2 ** Math.min(attempt, 20)
      : settings.retryDelayMs;
  switch (settings.jitter) {
    case "none":
      return base;
    case "full":
      return random() * base;
    default:
      return base / 2 + (random() * base) / 2;
  }
}

function resolveAutoExtend(
  setting: LockOptions["autoExtend"],
  ttlMs: number,
): { intervalMs: number; maxExtensions: number } | undefined {
  if (setting === undefined || setting === false) return undefined;
  const options: AutoExtendOptions =
    setting === true ? {} : typeof setting === "number" ? { intervalMs: setting } : setting;
  const intervalMs = options.intervalMs ?? Math.floor(ttlMs / 3);
  const maxExtensions = options.maxExtensions ?? DEFAULT_MAX_EXTENSIONS;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0 || intervalMs >= ttlMs) {
    throw new LockError("InvalidArgument", "autoExtend interval must be positive and shorter than ttlMs");
  }
  if (!Number.isSafeInteger(maxExtensions) || maxExtensions < 0) {
    throw new LockError("InvalidArgument", "autoExtend maxExtensions must be a non-negative integer");
  }
  return { intervalMs, maxExtensions };
}

/**
 * The held phase: a timer that declares the lock lost when its TTL runs out (measured locally from the
 * moment the last successful acquire or extend was sent, so that it fires no later than the stored
 * expiry), and the optional heartbeat that extends it.
 */
class Hold<C extends BackendCapabilities> {
  readonly lost = new AbortController();
  private expiryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** When the lease ends by the local clock (performance time), as of the last acquire or extension. */
  private deadline = 0;
  private inFlight: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly backend: LockBackend<C>,
    private readonly lockId: string,
    private readonly ttlMs: number,
    requestedAt: number,
    private readonly heartbeat: { intervalMs: number; maxExtensions: number } | undefined,
    private readonly event: LockRunEvent,
  ) {
    this.armExpiry(ttlMs, requestedAt);
    this.scheduleHeartbeat();
  }

  extend(ttlMs: number): Promise<ExtendResult> {
    validateTtlMs(ttlMs);
    const requestedAt = performance.now();
    const attempt = this.backend.extend({ lockId: this.lockId, ttlMs }).then((result) => {
      if (result.ok) {
        this.armExpiry(ttlMs, requestedAt);
      } else {
        this.loseLock("Lock lost: extension refused (expired or taken over)");
      }
      return result;
    });
    this.inFlight = attempt.catch(() => undefined);
    return attempt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.heartbeatTimer);
    await this.inFlight;
  }

  private armExpiry(ttlMs: number, requestedAt: number): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    this.deadline = requestedAt + ttlMs;
    const remaining = Math.max(0, this.deadline - performance.now());
    this.expiryTimer = setTimeout(() => this.loseLock("Lock lost: its TTL ran out"), remaining);
    this.expiryTimer.unref?.();
  }

  private scheduleHeartbeat(): void {
    const heartbeat = this.heartbeat;
    if (!heartbeat || this.stopped || this.event.extensions >= heartbeat.maxExtensions) return;
    // Never later than halfway through what is left of the lease: an acquire (or an extension) that took
    // most of the TTL must not leave the lock to run out before the first heartbeat.
    const delay = Math.min(heartbeat.intervalMs, Math.max(0, (this.deadline - performance.now()) / 2));
    this.heartbeatTimer = setTimeout(async () => {
      if (this.stopped || this.lost.signal.aborted) return;
      try {
        const result = await this.extend(this.ttlMs);
        if (result.ok) this.event.extensions++;
      } catch (error) {
        // A transient failure leaves the next heartbeat (and the expiry timer) to decide.
        if (!isTransientLockError(error)) {
          this.loseLock("Lock lost: extension failed", error);
        }
      }
      if (!this.lost.signal.aborted) this.scheduleHeartbeat();
    }, delay);
    this.heartbeatTimer.unref?.();
  }

  private loseLock(message: string, cause?: unknown): void {
    if (this.stopped || this.lost.signal.aborted) return;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.heartbeatTimer);
    this.lost.abort(new LockError("Aborted", message, { cause }));
  }
}

/**
 * One-shot form of `createLock(backend)(fn, options)`, as SyncGuard's root `lock` export.
 *
 * @example
 * await lock(backend, ({ fence }) => save(fence), { key: "invoice:42" });
 */
export function lock<C extends BackendCapabilities, T>(
  backend: LockBackend<C>,
  fn: (context: LockContext) => Promise<T> | T,
  options: LockOptions,
): Promise<T> {
  return createLock(backend)(fn, options);
}
