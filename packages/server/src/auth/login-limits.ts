import { AppError } from "../errors.js";
import type { Clock } from "../stores/types.js";
import { FailureLimiter } from "./failure-limiter.js";

/** Failed sign-ins allowed (docs/design/passwords.md): per tenant+username and per client address. */
export interface LoginLimits {
  /** Failed logins per tenant+username in `windowMs`. */
  perUsername: number;
  /** Failed logins per client IP in `windowMs`, whatever the username. */
  perIp: number;
  windowMs: number;
}

export const LOGIN_LIMITS: LoginLimits = { perUsername: 5, perIp: 20, windowMs: 15 * 60_000 };

/** Who is trying: the account (tenant and case-folded username) and the client address. */
export interface LoginAttempt {
  tenant: string;
  username: string;
  ip: string;
}

/**
 * The sign-in limits for every password check (login, password change). An attempt is counted as a
 * failure up front and forgiven on success, so that a burst of concurrent guesses is limited too, not
 * only guesses that arrive after earlier ones have finished hashing.
 *
 * @example
 * const limiter = new LoginLimiter(LOGIN_LIMITS, clock);
 * limiter.admit(attempt); // 429 while over a limit, before any hashing is spent
 * if (ok) limiter.signedIn(attempt);
 */
export class LoginLimiter {
  readonly #byUsername: FailureLimiter;
  readonly #byIp: FailureLimiter;

  constructor(
    limits: LoginLimits,
    clock: Clock,
    private readonly onRefused: (limiter: "login_user" | "login_ip") => void = () => {},
  ) {
    this.#byUsername = new FailureLimiter({ limit: limits.perUsername, windowMs: limits.windowMs, clock });
    this.#byIp = new FailureLimiter({ limit: limits.perIp, windowMs: limits.windowMs, clock });
  }

  /** Refuses with 429 while either counter is over its limit; otherwise counts the attempt as failed. */
  admit(attempt: LoginAttempt): void {
    const user = userKey(attempt);
    const userWait = this.#byUsername.retryAfterMs(user);
    const ipWait = this.#byIp.retryAfterMs(attempt.ip);
    const wait = Math.max(userWait, ipWait);
    if (wait > 0) {
      this.onRefused(userWait >= ipWait ? "login_user" : "login_ip");
      throw new AppError("RATE_LIMITED", "Too many failed sign-in attempts; retry later.", {
        headers: { "retry-after": String(Math.ceil(wait / 1000)) },
      });
    }
    this.#byUsername.fail(user);
    this.#byIp.fail(attempt.ip);
  }

  /** A successful sign-in: the account's failures are cleared, the address's attempt forgiven. */
  signedIn(attempt: LoginAttempt): void {
    this.#byUsername.reset(userKey(attempt));
    this.#byIp.forgive(attempt.ip);
  }

  /** A successful check of an already signed-in user (password change): the attempt is forgiven. */
  forgive(attempt: LoginAttempt): void {
    this.#byUsername.forgive(userKey(attempt));
    this.#byIp.forgive(attempt.ip);
  }
}

function userKey(attempt: LoginAttempt): string {
  return `${attempt.tenant}\u0000${attempt.username.toLowerCase()}`;
}
