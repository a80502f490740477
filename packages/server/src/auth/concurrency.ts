/**
 * At most `limit` tasks run at once; the rest wait in arrival order, at most `maxWaiting` of them and
 * each at most `maxWaitMs`. Password hashing runs under one of these so that a login flood neither
 * allocates 64 MiB per concurrent attempt nor queues answers for minutes (docs/design/passwords.md).
 *
 * @example
 * const limited = concurrencyLimit(2, { maxWaiting: 16, maxWaitMs: 1500 });
 * await limited(() => argon2.hash(password)); // QueueFullError when the queue is full or too slow
 */
export interface ConcurrencyLimit {
  <T>(task: () => Promise<T>): Promise<T>;
  /** Tasks waiting for a slot (the login hashing queue depth metric). */
  waiting(): number;
  /** Throws the QueueFullError a task given now would get at once: the queue is full. */
  refuseIfFull(): void;
}

export interface QueueBounds {
  /** Tasks that may wait for a slot; one more is refused at once. */
  maxWaiting?: number;
  /** How long a task may wait for a slot before it is refused. */
  maxWaitMs?: number;
}

/** The task was not run: the queue was full, or the task waited past its bound. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(
    /** About how long until the queue has room again. */
    readonly retryAfterMs: number,
  ) {
    super("the queue is full");
  }
}

interface Waiter {
  start(): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export function concurrencyLimit(limit: number, bounds: QueueBounds = {}): ConcurrencyLimit {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
  const maxWaiting = bounds.maxWaiting ?? Number.POSITIVE_INFINITY;
  const maxWaitMs = bounds.maxWaitMs ?? Number.POSITIVE_INFINITY;
  let running = 0;
  // How long a task takes, smoothed: what the queue in front of a refused task will take to drain.
  let taskMs = 0;
  const waiting: Waiter[] = [];
  const drainMs = () => Math.ceil(((waiting.length + running) * taskMs) / limit);
  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.start();
    }
  };
  const refuseIfFull = () => {
    if (running >= limit && waiting.length >= maxWaiting) throw new QueueFullError(drainMs());
  };
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) {
      refuseIfFull();
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { start: resolve, timer: undefined };
        if (Number.isFinite(maxWaitMs)) {
          waiter.timer = setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            reject(new QueueFullError(drainMs()));
          }, maxWaitMs);
        }
        waiting.push(waiter);
      });
    }
    running += 1;
    const started = performance.now();
    try {
      return await task();
    } finally {
      const took = performance.now() - started;
      taskMs = taskMs === 0 ? took : 0.8 * taskMs + 0.2 * took;
      release();
    }
  };
  return Object.assign(run, { waiting: () => waiting.length, refuseIfFull });
}
