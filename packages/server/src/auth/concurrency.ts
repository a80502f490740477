/**
 * At most `limit` tasks run at once; the rest wait in arrival order. Password hashing runs under one of
 * these so that a login flood queues instead of allocating 64 MiB per concurrent attempt
 * (docs/design/passwords.md).
 *
 * @example
 * const limited = concurrencyLimit(2);
 * await limited(() => argon2.hash(password));
 */
export interface ConcurrencyLimit {
  <T>(task: () => Promise<T>): Promise<T>;
  /** Tasks waiting for a slot (the login hashing queue depth metric). */
  waiting(): number;
}

export function concurrencyLimit(limit: number): ConcurrencyLimit {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      release();
    }
  };
  return Object.assign(run, { waiting: () => waiting.length });
}
