import { every, type PeriodicJob } from "../runtime/periodic.js";
import type { RunExclusive } from "../sessions/sweeper.js";
import type { Clock } from "../stores/types.js";
import { nextAttemptAt, RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { deliveryHeaders, type Sender } from "./sender.js";
import type { AttemptOutcome, Delivery, StoredWebhook, WebhooksStore } from "./types.js";

export const DISPATCHER_LOCK_KEY = "firebrick:webhooks-dispatcher";
/**
 * The dispatcher's lease: longer than one run can last (`RUN_BUDGET_MS` of starting sends, each bounded
 * by the sender's timeout), so that a live holder never loses it mid-run; a holder that dies leaves the
 * deliveries it had not recorded to the next holder once it runs out.
 */
export const DISPATCHER_LOCK_TTL_MS = 45_000;
const RUN_BUDGET_MS = 20_000;
/** How often an instance looks whether it should run: cheap, it reads nothing unless woken or due. */
const TICK_MS = 500;
/** With nothing known to be due, an instance looks at the store this often (one billed read). */
export const IDLE_CHECK_MS = 30_000;
/** An instance that found the lock taken looks again this soon (the holder may have died). */
const BUSY_RECHECK_MS = 2_000;

export interface DispatchOptions {
  webhooks: WebhooksStore;
  send: Sender;
  /** The lock's fencing token (null when nothing fences: one process, tests). */
  fence: string | null;
  clock: Clock;
  retry?: RetryPolicy;
  /** Deliveries read per run. */
  batch?: number;
  /** Sends in flight at once. */
  concurrency?: number;
  random?: () => number;
  /** Called after a delivery was sent and before its outcome is written (tests pause here). */
  beforeRecord?: (delivery: Delivery) => Promise<void>;
}

export interface DispatchResult {
  recorded: number;
  delivered: number;
  /** A newer holder's fence refused a write: this run stopped. */
  fenced: boolean;
  /** When the next pending delivery is due (now: more than one run's worth is due); null: none pending. */
  nextDueMs: number | null;
}

/**
 * One run of the dispatcher (docs/design/webhooks.md): records its fence, sends the deliveries that are
 * due (the soonest first), and records each attempt's outcome fenced, so that a holder that outlived its
 * lease cannot overwrite what a newer holder recorded.
 */
export async function dispatchDue(options: DispatchOptions): Promise<DispatchResult> {
  const { webhooks, fence, clock } = options;
  const result: DispatchResult = { recorded: 0, delivered: 0, fenced: false, nextDueMs: null };
  if (fence !== null && !(await webhooks.recordFence(fence))) return { ...result, fenced: true };
  const started = clock();
  const batch = options.batch ?? 50;
  const pending = await webhooks.pending(batch);
  const due = pending.filter((delivery) => (delivery.next_attempt_ms ?? Infinity) <= started);
  const later = pending.find((delivery) => (delivery.next_attempt_ms ?? Infinity) > started);
  const hooks = new Map<string, Promise<StoredWebhook | null>>();
  const hookOf = (delivery: Delivery) => {
    const key = `${delivery.tenant_id}\u0000${delivery.webhook_id}`;
    if (!hooks.has(key)) hooks.set(key, webhooks.get(delivery.tenant_id, delivery.webhook_id));
    return hooks.get(key)!;
  };
  let next = 0;
  let unsent = false;
  const worker = async () => {
    while (!result.fenced && next < due.length) {
      if (clock() - started > RUN_BUDGET_MS) {
        unsent = true;
        return;
      }
      const delivery = due[next++]!;
      const outcome = await attempt(delivery, await hookOf(delivery), options);
      await options.beforeRecord?.(delivery);
      const recorded = await webhooks.recordAttempt(delivery.tenant_id, delivery.id, outcome, fence);
      if (recorded === "fenced") result.fenced = true;
      if (recorded === "recorded") {
        result.recorded += 1;
        if (outcome.state === "delivered") result.delivered += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const more = unsent || pending.length === batch;
  result.nextDueMs = more ? clock() : (later?.next_attempt_ms ?? null);
  return result;
}

/** Sends one delivery (or, its webhook deleted, gives it up) and says what follows. */
async function attempt(
  delivery: Delivery,
  hook: StoredWebhook | null,
  options: DispatchOptions,
): Promise<AttemptOutcome> {
  const number = delivery.attempts + 1;
  if (!hook) {
    return {
      attempt: number,
      at_ms: options.clock(),
      status_code: null,
      error: "the webhook was deleted",
      duration_ms: 0,
      state: "failed",
      next_attempt_ms: null,
    };
  }
  const sent = await options.send(
    hook.url,
    delivery.body,
    deliveryHeaders(hook.secret, delivery.id, delivery.body),
  );
  const at = options.clock();
  const ok = "status" in sent && sent.status >= 200 && sent.status < 300;
  const retryAt = ok
    ? null
    : nextAttemptAt(options.retry ?? RETRY_POLICY, number, delivery.created_ms, at, options.random);
  return {
    attempt: number,
    at_ms: at,
    status_code: "status" in sent ? sent.status : null,
    error: "error" in sent ? sent.error : null,
    duration_ms: sent.durationMs,
    state: ok ? "delivered" : retryAt === null ? "failed" : "pending",
    next_attempt_ms: retryAt,
  };
}

export interface WebhookDispatcher extends PeriodicJob {
  /** A delivery was enqueued (here, or on another instance that said so on the change feed). */
  wake(): void;
}

/**
 * Starts the dispatcher: every instance runs it, one of them at a time sends (the service lock,
 * `runExclusive`). An instance looks only when woken (a transition enqueued deliveries), when a retry is
 * due, or every `IDLE_CHECK_MS`; it first reads the soonest pending delivery (one read) and takes the
 * lock only if something is due, so an idle fleet costs one read per instance per 30 s.
 *
 * @example
 * const job = startWebhookDispatcher({ webhooks, send: httpSender({ allowPrivate }), runExclusive, clock });
 */
export function startWebhookDispatcher(
  options: Omit<DispatchOptions, "fence"> & {
    runExclusive: RunExclusive;
    onError?: (error: unknown) => void;
    tickMs?: number;
  },
): WebhookDispatcher {
  let woken = true;
  let checkAt = 0;
  const job = every(
    options.tickMs ?? TICK_MS,
    async () => {
      const now = options.clock();
      if (!woken && now < checkAt) return;
      woken = false;
      checkAt = now + IDLE_CHECK_MS;
      const [soonest] = await options.webhooks.pending(1);
      if (!soonest) return;
      if ((soonest.next_attempt_ms ?? Infinity) > now) {
        checkAt = Math.min(checkAt, soonest.next_attempt_ms ?? Infinity);
        return;
      }
      let ran = false;
      await options.runExclusive(async ({ fence }) => {
        ran = true;
        const result = await dispatchDue({ ...options, fence });
        if (result.nextDueMs !== null) checkAt = Math.min(checkAt, result.nextDueMs);
      });
      if (!ran) checkAt = Math.min(checkAt, now + BUSY_RECHECK_MS);
    },
    options.onError,
  );
  return {
    wake() {
      woken = true;
    },
    stop: () => job.stop(),
  };
}
