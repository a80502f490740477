// Polls one task at a fixed interval within the read budget (docs/design/dashboard.md): never faster than the
// interval, never two requests in flight, paused while the tab is hidden, slower after a 429 (Retry-After
// honoured) or a network failure.

export class Poller {
  /**
   * @param {() => Promise<void>} task throws an ApiError on failure
   * @param {{ intervalMs: number, onError?: (error: any) => void, onSuccess?: () => void }} options
   */
  constructor(task, options) {
    this.task = task;
    this.intervalMs = options.intervalMs;
    this.onError = options.onError ?? (() => {});
    this.onSuccess = options.onSuccess ?? (() => {});
    this.timer = null;
    this.running = false;
    this.inFlight = false;
    this.lastRunMs = 0;
    this.failures = 0;
    this.onVisibility = () => {
      if (document.hidden) this.#clear();
      else if (this.running && !this.inFlight)
        this.#schedule(Math.max(0, this.lastRunMs + this.intervalMs - Date.now()));
    };
  }

  /** Starts polling, running the task now. */
  start() {
    if (this.running) return;
    this.running = true;
    document.addEventListener("visibilitychange", this.onVisibility);
    this.#schedule(0);
  }

  stop() {
    this.running = false;
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.#clear();
  }

  /** Runs the task as soon as allowed: not before the interval has passed since the last run. */
  poke() {
    if (!this.running || this.inFlight) return;
    this.#schedule(Math.max(0, this.lastRunMs + this.intervalMs - Date.now()));
  }

  #clear() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  #schedule(delayMs) {
    this.#clear();
    if (!this.running || document.hidden) return;
    this.timer = setTimeout(() => this.#run(), delayMs);
  }

  async #run() {
    this.timer = null;
    if (!this.running || document.hidden || this.inFlight) return;
    this.inFlight = true;
    this.lastRunMs = Date.now();
    let delay = this.intervalMs;
    try {
      await this.task();
      this.failures = 0;
      this.onSuccess();
    } catch (error) {
      this.failures += 1;
      if (error?.retryAfterMs != null) delay = Math.max(delay, error.retryAfterMs);
      else delay = Math.min(this.intervalMs * 2 ** Math.min(this.failures, 4), 60_000);
      this.onError(error);
    } finally {
      this.inFlight = false;
    }
    this.#schedule(delay);
  }
}
