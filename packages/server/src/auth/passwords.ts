import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { AppError } from "../errors.js";
import type { PasswordParams, User } from "../stores/types.js";
import { concurrencyLimit, QueueFullError } from "./concurrency.js";
import { verifyLegacyHash } from "./legacy-hashes.js";

/**
 * Argon2id cost. Production uses m = 64 MiB, t = 3, p = 1 (docs/design/passwords.md); tests inject cheaper
 * ones.
 */
export interface Argon2Params {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const PRODUCTION_ARGON2: Argon2Params = { memoryCost: 64 * 1024, timeCost: 3, parallelism: 1 };

const ARGON2ID = 2 as Algorithm;

/** A new stored password: PHC string plus its parameters, as the users store keeps them. */
export interface StoredPassword {
  password_hash: string;
  algo_params: PasswordParams;
  needs_rehash: boolean;
}

/**
 * - `ok`: the password matches and the stored hash is current;
 * - `ok_rehash`: it matches but the hash is legacy or weaker than the current cost: store a new one;
 * - `mismatch`: wrong password;
 * - `refused`: the stored hash cannot be trusted (unsalted legacy): the user needs a password reset.
 */
export type PasswordCheck = "ok" | "ok_rehash" | "mismatch" | "refused";

export interface PasswordHasher {
  hash(password: string): Promise<StoredPassword>;
  check(
    stored: Pick<User, "password_hash" | "algo_params" | "needs_rehash">,
    password: string,
  ): Promise<PasswordCheck>;
  /** Burns the time of one verification, so that an unknown username costs as much as a wrong password. */
  burn(password: string): Promise<void>;
  /** Hashing tasks waiting for a slot. */
  queueDepth(): number;
  /**
   * Throws the 503 a check would get at once when the hashing queue is full, so that a sign-in is refused
   * before the work that precedes its check (the user lookup): under a flood, refusals cost no store read.
   */
  admit(): void;
}

export interface PasswordHasherOptions {
  params?: Argon2Params;
  /** How many hashes may run at once; each takes `memoryCost` KiB. */
  concurrency?: number;
  /** Hashes that may wait for a slot (`Config.passwordQueue`); unbounded when not given. */
  maxQueue?: number;
  /** How long one may wait for a slot. */
  maxQueueWaitMs?: number;
}

/**
 * A password check waits at most this long for a hashing slot: with the check itself (≈ 60–200 ms at
 * production cost) every sign-in is answered within about 2 s, however the queue got long.
 */
export const MAX_QUEUE_WAIT_MS = 1_500;

/**
 * Argon2id hashing and verification under a concurrency limit, with legacy hashes verified once and
 * flagged for re-hash. When the hashing queue is full, or a hash waited past `MAX_QUEUE_WAIT_MS`, the
 * call throws `503 UNAVAILABLE` with `Retry-After` (an `AppError`) without hashing anything.
 *
 * @example
 * const passwords = createPasswordHasher();
 * const stored = await passwords.hash("correct horse battery staple");
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const params = options.params ?? PRODUCTION_ARGON2;
  const queue = concurrencyLimit(options.concurrency ?? 2, {
    ...(options.maxQueue !== undefined && { maxWaiting: options.maxQueue }),
    maxWaitMs: options.maxQueueWaitMs ?? MAX_QUEUE_WAIT_MS,
  });
  const unavailable = (error: unknown) => {
    if (!(error instanceof QueueFullError)) return error;
    return new AppError("UNAVAILABLE", "Too many password checks at once; retry shortly.", {
      headers: { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) },
    });
  };
  const limited = async <T>(task: () => Promise<T>): Promise<T> => {
    try {
      return await queue(task);
    } catch (error) {
      throw unavailable(error);
    }
  };
  const argonOptions = { ...params, algorithm: ARGON2ID };
  const algoParams: PasswordParams = {
    algorithm: "argon2id",
    m: params.memoryCost,
    t: params.timeCost,
    p: params.parallelism,
  };
  let dummy: Promise<string> | undefined;

  return {
    queueDepth: () => queue.waiting(),
    admit() {
      try {
        queue.refuseIfFull();
      } catch (error) {
        throw unavailable(error);
      }
    },
    async hash(password) {
      const password_hash = await limited(() => hash(password, argonOptions));
      return { password_hash, algo_params: { ...algoParams }, needs_rehash: false };
    },

    async check(stored, password) {
      if (stored.password_hash.startsWith("$argon2")) {
        // A PHC string argon2 cannot read is refused; a full queue is not (it is a 503).
        const matches = await limited(() => verify(stored.password_hash, password).catch(() => null));
        if (matches === null) return "refused";
        if (!matches) return "mismatch";
        return stored.needs_rehash || weakerThanCurrent(stored.password_hash) ? "ok_rehash" : "ok";
      }
      const verdict = await limited(() => verifyLegacyHash(stored.password_hash, password));
      if (verdict === "match") return "ok_rehash";
      return verdict;
    },

    async burn(password) {
      // Refused for a full queue, it is made again by the next caller rather than refused forever.
      dummy ??= limited(() => hash("firebrick-timing-equaliser", argonOptions)).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
      const stored = await dummy;
      // A full queue answers 503 here exactly as it does for a known user's check.
      await limited(() => verify(stored, password).catch(() => false));
    },
  };

  function weakerThanCurrent(phc: string): boolean {
    const m = /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
    if (!m || !phc.startsWith("$argon2id$")) return true;
    return Number(m[1]) < params.memoryCost || Number(m[2]) < params.timeCost;
  }
}
