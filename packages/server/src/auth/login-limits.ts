import { AppError } from "../errors.js";
import { type Buckets, type FleetLimiter, type LimitPolicy, waitFor } from "../fleet/limiter.js";
import { sha256 } from "../stores/keys.js";

/**
 * The sign-in limits (docs/design/passwords.md), for every instance together (docs/design/fleet.md).
 * None of them can be turned against the user: a budget belongs to one (username, client address) pair
 * or to one address, so guesses from elsewhere never spend it; guessing spread over many addresses only
 * slows the username down, it never locks it.
 */
export interface LoginLimits {
  /** Failed sign-ins per tenant+username from one client address in `windowMs`. */
  perUsernameAndAddress: number;
  /** Failed sign-ins per client address in `windowMs`, whatever the username. */
  perAddress: number;
  windowMs: number;
  /** Failures of a username (from any address) past which every attempt on it is slowed down… */
  slowDownAfter: number;
  /** …by this, doubling with each further failure, … */
  slowDownBaseMs: number;
  /** …up to this. */
  slowDownMaxMs: number;
  /** Failed current-password checks per session in `windowMs` (password change). */
  perSession: number;
}

export const LOGIN_LIMITS: LoginLimits = {
  perUsernameAndAddress: 5,
  perAddress: 20,
  windowMs: 15 * 60_000,
  slowDownAfter: 5,
  slowDownBaseMs: 250,
  slowDownMaxMs: 4000,
  perSession: 5,
};

/** Who is trying: the account (tenant and case-folded username) and the client address. */
export interface LoginAttempt {
  tenant: string;
  username: string;
  ip: string;
}

/** An admitted attempt: wait `delayMs`, check the password, then say how it went. */
export interface AdmittedAttempt {
  /** The username's slow-down, the same for a right and a wrong password (timing tells nothing). */
  delayMs: number;
  failed(): Promise<void>;
  succeeded(): Promise<void>;
}

/** Attempts from one address queued on one instance beyond this are refused at once. */
const QUEUE_PER_ADDRESS = 16;
/** A username record keeps the busiest addresses' budgets, at most this many. */
const ADDRESSES_PER_USERNAME = 64;
const TOTAL = "total";

/**
 * The sign-in limits over the fleet's limiter records:
 * - a username record (tenant + username) holds the username's failures in the window (`total`, which
 *   sets the slow-down) and one budget per client address (`a:<hash>`), so that one read tells both;
 * - an address record holds the address's failures over all usernames.
 *
 * Only failures are written: an attempt reads both records (two reads, none when this instance already
 * knows one of them is exhausted) and is checked; a failure then adds to both (two writes), a success
 * clears its own address's budget (one write, only if it had failed before). So a sign-in bills at most
 * one write. Concurrent guesses cannot slip past a budget while earlier ones are hashing: attempts from
 * one address are checked one after another on an instance; across N instances a burst timed to reach
 * all of them at once gets at most N − 1 guesses more than its budget.
 *
 * @example
 * const attempt = await limits.admit({ tenant, username, ip }); // 429 when a budget is spent
 * await sleep(attempt.delayMs);
 * if (ok) await attempt.succeeded(); else await attempt.failed();
 */
export class SignInLimits {
  readonly #username: LimitPolicy;
  readonly #address: LimitPolicy;
  readonly #session: LimitPolicy;
  readonly #queues = new Map<string, { waiting: number; tail: Promise<void> }>();

  constructor(
    private readonly limiter: FleetLimiter,
    private readonly limits: LoginLimits,
    private readonly onRefused: (limiter: "login_user" | "login_ip") => void = () => {},
  ) {
    this.#username = {
      name: "login_username",
      capacity: limits.perUsernameAndAddress,
      windowMs: limits.windowMs,
    };
    this.#address = { name: "login_address", capacity: limits.perAddress, windowMs: limits.windowMs };
    this.#session = { name: "password_check", capacity: limits.perSession, windowMs: limits.windowMs };
  }

  /**
   * Admits a sign-in attempt, or refuses it with 429 while its (username, address) budget or its
   * address's budget is spent. The attempt holds its address's turn on this instance until `release`.
   */
  async admit(attempt: LoginAttempt): Promise<AdmittedAttempt & { release(): void }> {
    const release = await this.#turn(`address\u0000${attempt.ip}`);
    try {
      const userKey = `${attempt.tenant}\u0000${attempt.username.normalize("NFC").toLowerCase()}`;
      const pair = `a:${sha256(attempt.ip).slice(0, 16)}`;
      const known = {
        user: this.limiter.known(this.#username, userKey),
        address: this.limiter.known(this.#address, attempt.ip),
      };
      // A budget this instance already knows to be spent is refused without a read: others only add to it.
      this.#refuseIfSpent(known.user?.[pair]?.level, known.address?.[TOTAL]?.level);
      const [user, address] = await Promise.all([
        this.limiter.read(this.#username, userKey),
        this.limiter.read(this.#address, attempt.ip),
      ]);
      this.#refuseIfSpent(user[pair]?.level, address[TOTAL]?.level);
      const failures = user[TOTAL]?.level ?? 0;
      const over = Math.floor(failures) - this.limits.slowDownAfter;
      const delayMs =
        over < 0 ? 0 : Math.min(this.limits.slowDownMaxMs, this.limits.slowDownBaseMs * 2 ** over);
      return {
        delayMs,
        failed: async () => {
          await Promise.all([
            this.limiter.update(this.#username, userKey, (buckets, now) => ({
              result: undefined,
              write: withFailure(buckets, pair, now),
            })),
            this.limiter.update(this.#address, attempt.ip, (buckets, now) => ({
              result: undefined,
              write: oneMore(buckets, now),
            })),
          ]);
        },
        succeeded: async () => {
          // The user's own earlier failures from this address are forgiven (and taken off the username's
          // count); other addresses' failures stay, and so does their slow-down.
          await this.limiter.update(this.#username, userKey, (buckets) => {
            const own = buckets[pair]?.level ?? 0;
            if (own === 0) return { result: undefined };
            const { [pair]: _forgiven, ...rest } = buckets;
            const total = (rest[TOTAL]?.level ?? 0) - own;
            const write: Buckets = { ...rest };
            if (total > 0) write[TOTAL] = { level: total, at: rest[TOTAL]!.at };
            else delete write[TOTAL];
            return { result: undefined, write };
          });
        },
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Admits a check of a signed-in user's current password (password change), or refuses it with 429
   * while this session's budget is spent. Nobody else's guesses touch that budget.
   */
  async admitPasswordCheck(sessionId: string): Promise<{ failed(): Promise<void>; release(): void }> {
    const release = await this.#turn(`session\u0000${sessionId}`);
    try {
      const level = (await this.limiter.read(this.#session, sessionId))[TOTAL]?.level ?? 0;
      const wait = waitFor(level, 1, this.#session);
      if (wait > 0) throw tooMany(wait);
      return {
        failed: async () => {
          await this.limiter.update(this.#session, sessionId, (buckets, now) => ({
            result: undefined,
            write: oneMore(buckets, now),
          }));
        },
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  #refuseIfSpent(pairLevel = 0, addressLevel = 0): void {
    const userWait = waitFor(pairLevel, 1, this.#username);
    const addressWait = waitFor(addressLevel, 1, this.#address);
    if (userWait === 0 && addressWait === 0) return;
    this.onRefused(userWait >= addressWait ? "login_user" : "login_ip");
    throw tooMany(Math.max(userWait, addressWait));
  }

  /** Waits for this key's turn on this instance (attempts of one address or session go one at a time). */
  async #turn(key: string): Promise<() => void> {
    const queue = this.#queues.get(key) ?? { waiting: 0, tail: Promise.resolve() };
    if (queue.waiting >= QUEUE_PER_ADDRESS) throw tooMany(1000);
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = queue.tail;
    queue.waiting += 1;
    queue.tail = previous.then(() => done);
    this.#queues.set(key, queue);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      queue.waiting -= 1;
      if (queue.waiting === 0 && this.#queues.get(key) === queue) this.#queues.delete(key);
      release();
    };
  }
}

/** A one-bucket record with one more failure. */
function oneMore(buckets: Buckets, now: number): Buckets {
  return { [TOTAL]: { level: (buckets[TOTAL]?.level ?? 0) + 1, at: now } };
}

/** The username's buckets with one more failure, from `pair`, keeping the busiest addresses only. */
function withFailure(buckets: Buckets, pair: string, now: number): Buckets {
  const next: Buckets = {
    ...buckets,
    [TOTAL]: { level: (buckets[TOTAL]?.level ?? 0) + 1, at: now },
    [pair]: { level: (buckets[pair]?.level ?? 0) + 1, at: now },
  };
  const addresses = Object.keys(next).filter((name) => name !== TOTAL);
  if (addresses.length > ADDRESSES_PER_USERNAME) {
    addresses.sort((a, b) => next[a]!.level - next[b]!.level);
    for (const name of addresses.slice(0, addresses.length - ADDRESSES_PER_USERNAME)) delete next[name];
  }
  return next;
}

function tooMany(waitMs: number): AppError {
  return new AppError("RATE_LIMITED", "Too many failed sign-in attempts; retry later.", {
    headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
  });
}
