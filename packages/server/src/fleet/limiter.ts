import { BoundedMap, entryOverhead } from "../bounded-map.js";
import { sha256 } from "../stores/keys.js";
import { type Clock, StoreUnavailableError } from "../stores/types.js";
import type { FleetRecords } from "./types.js";

/**
 * A limit: buckets that fill by what is charged and drain continuously, `capacity` per `windowMs` (a
 * leaky bucket; a token bucket seen from the other side). A bucket at `capacity` refuses until enough
 * has drained. All buckets of one record drain alike.
 */
export interface LimitPolicy {
  /** Part of every record's id, so that two limits never share a record (e.g. `device_writes`). */
  name: string;
  capacity: number;
  windowMs: number;
}

/** The level of each named bucket of one record (e.g. a username's total and one per client address). */
export type Buckets = Record<string, { level: number; at: number }>;

/** The buckets' levels drained to `now` (empty ones dropped). */
export function drain(buckets: Buckets, policy: LimitPolicy, now: number): Buckets {
  const perMs = policy.capacity / policy.windowMs;
  const drained: Buckets = {};
  for (const [name, { level, at }] of Object.entries(buckets)) {
    const left = level - Math.max(0, now - at) * perMs;
    if (left > 1e-9) drained[name] = { level: left, at: now };
  }
  return drained;
}

/** How long until `level + cost` fits under the capacity (0 when it does now). */
export function waitFor(level: number, cost: number, policy: LimitPolicy): number {
  const over = level + cost - policy.capacity;
  return over <= 1e-9 ? 0 : Math.ceil(over / (policy.capacity / policy.windowMs));
}

/** What one step of an update decides: its result, and the buckets to write (none: nothing to write). */
export interface Step<R> {
  result: R;
  write?: Buckets;
}

/** The bucket of a record that has one (`charge`). */
const ONE = "all";

export type Charge = { ok: true; level: number } | { ok: false; retryAfterMs: number };

interface Held {
  /** The record's id (`recordId`), kept so that a charge hashes its key only when nothing is held. */
  id: string;
  buckets: Buckets;
  version: string;
  /** Allowance this instance took ahead (`charge`), to spend without a store call until `expires`. */
  reserve?: { left: number; expires: number };
}

/**
 * A limit this high (per window) is charged ahead: a charge that fits takes 1 % of the limit more, which
 * this instance spends without a store call for at most `RESERVE_MS`. Below it every charge writes.
 */
const RESERVE_FROM_CAPACITY = 100;
const RESERVE_SHARE = 0.01;
const RESERVE_MS = 1000;

export interface FleetLimiterOptions {
  clock: Clock;
  /** Memory for the records held (`FIREBRICK_CACHE_MEMORY_MIB`'s share, docs/design/fleet.md). */
  maxBytes: number;
  /** Compare-and-set attempts before giving up on a record other instances keep changing. */
  maxAttempts?: number;
}

/**
 * The fleet's limiters (docs/design/fleet.md): buckets kept in the service-wide state's records, so
 * that a limit holds for every instance together, changed only by compare-and-set on the record's
 * version. This instance keeps the last version it saw of each record (bounded in bytes):
 *
 * - a charge writes on that version without reading first (1 write); only when another instance has
 *   changed the record since (a conflict, nothing written) is it read again (1 read) and retried;
 * - a charge that the version held already refuses is refused without touching the store: other
 *   instances only ever add to a bucket, and draining is a matter of time, so the stored level can
 *   only be higher than the one held;
 * - no two charges of one record run at once on this instance (they queue), so an instance never
 *   conflicts with itself.
 *
 * Nothing overshoots a limit but clock offsets: a record's drain is computed from the `at` its last
 * writer stamped, so an instance whose clock runs δ ahead drains δ × capacity / window more.
 *
 * @example
 * const limiter = new FleetLimiter(fleet.records, { clock, maxBytes: 8 * 2 ** 20 });
 * const charge = await limiter.charge(DEVICE_WRITES, `${tenant}/${deviceId}`, points.length);
 * if (!charge.ok) reply429(charge.retryAfterMs);
 */
export class FleetLimiter {
  readonly #records: FleetRecords;
  readonly #clock: Clock;
  readonly #held: BoundedMap<string, Held>;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #maxAttempts: number;

  constructor(records: FleetRecords, options: FleetLimiterOptions) {
    this.#records = records;
    this.#clock = options.clock;
    this.#maxAttempts = options.maxAttempts ?? 5;
    // A record held is its key, its id (40 hex characters), its buckets and a version (measured against
    // the heap in bench/children/structure-sizes.ts): a device's one bucket ≈ 80 bytes; the buckets of a
    // record of several (a sign-in's, keyed by address) are a dictionary, ≈ 260 bytes each.
    this.#held = new BoundedMap({
      maxBytes: options.maxBytes,
      sizeOf: (held, slot) => {
        const buckets = Object.keys(held.buckets).length;
        return entryOverhead(slot) + 2 * held.id.length + 100 + buckets * (buckets > 1 ? 260 : 80);
      },
    });
  }

  /** Records held in memory. */
  get size(): number {
    return this.#held.size;
  }

  /** The bytes the records held take, by estimate. */
  get bytes(): number {
    return this.#held.bytes;
  }

  /**
   * Adds `cost` to the key's bucket if it fits under the capacity; otherwise refuses with how long to
   * wait. `always` charges even over the capacity (a count) and never refuses.
   *
   * A high limit (100 a window or more) is charged ahead: a charge that fits also takes 1 % of the limit,
   * which the next charges on this instance spend without a store call, for at most a second. What is
   * taken ahead is counted in the bucket already, so nothing overshoots but what a window's edge cuts:
   * N instances may let through at most N % of the limit more in one window.
   */
  charge(
    policy: LimitPolicy,
    key: string,
    cost: number,
    options: { always?: boolean } = {},
  ): Promise<Charge> {
    const slot = heldKey(policy, key);
    /** Spends what this instance reserved, when it covers the charge. */
    const fromReserve = (): Charge | undefined => {
      const held = this.#held.peek(slot);
      const reserve = held?.reserve;
      if (options.always || !reserve || reserve.left < cost || this.#clock() >= reserve.expires) return;
      reserve.left -= cost;
      return { ok: true, level: held.buckets[ONE]?.level ?? cost };
    };
    const spent = fromReserve();
    if (spent) return Promise.resolve(spent);
    const ahead =
      options.always || policy.capacity < RESERVE_FROM_CAPACITY
        ? 0
        : Math.floor(policy.capacity * RESERVE_SHARE);
    let reserved = 0;
    return this.#update<Charge>(
      policy,
      key,
      (buckets, now) => {
        // Charges queued behind the one that reserved spend the reserve too.
        const queued = fromReserve();
        if (queued) return { result: queued };
        const level = buckets[ONE]?.level ?? 0;
        const wait = waitFor(level, cost, policy);
        if (wait > 0 && !options.always) return { result: { ok: false, retryAfterMs: wait } };
        reserved = ahead > 0 && waitFor(level, cost + ahead, policy) === 0 ? ahead : 0;
        return {
          result: { ok: true, level: level + cost },
          write: { ...buckets, [ONE]: { level: level + cost + reserved, at: now } },
        };
      },
      (written) => {
        if (reserved > 0) written.reserve = { left: reserved, expires: this.#clock() + RESERVE_MS };
      },
    );
  }

  /**
   * The key's buckets, drained to now, as this instance last saw them (no store call), or undefined
   * when it holds none. They may be lower than the stored ones, never higher (see the class comment).
   */
  known(policy: LimitPolicy, key: string): Buckets | undefined {
    const held = this.#held.peek(heldKey(policy, key));
    return held && drain(held.buckets, policy, this.#clock());
  }

  /** The key's buckets as stored now, drained to now (one read). */
  read(policy: LimitPolicy, key: string): Promise<Buckets> {
    const slot = heldKey(policy, key);
    const id = this.#idOf(policy, key, slot);
    return this.#serially(id, async () => drain((await this.#read(id, slot)).buckets, policy, this.#clock()));
  }

  /**
   * Changes the key's record: `step` gets its buckets (drained to now) and decides. It runs on the
   * version held when there is one (no read), and again on a fresh read each time another instance
   * wrote first. A step that writes nothing ends the update without a store call.
   */
  update<R>(policy: LimitPolicy, key: string, step: (buckets: Buckets, now: number) => Step<R>): Promise<R> {
    return this.#update(policy, key, step);
  }

  /** `update`, and `written` called with the record as held after a write (e.g. to note a reserve). */
  #update<R>(
    policy: LimitPolicy,
    key: string,
    step: (buckets: Buckets, now: number) => Step<R>,
    written?: (held: Held) => void,
  ): Promise<R> {
    const slot = heldKey(policy, key);
    const id = this.#idOf(policy, key, slot);
    return this.#serially(id, async () => {
      let held = this.#held.get(slot) ?? null;
      for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
        if (!held) held = await this.#read(id, slot);
        const now = this.#clock();
        const { result, write } = step(drain(held.buckets, policy, now), now);
        if (!write) return result;
        const buckets = drain(write, policy, now);
        const version = await this.#write(id, policy, buckets, held.version, now);
        if (version !== null) {
          const held: Held = { id, buckets, version };
          written?.(held);
          this.#held.set(slot, held);
          return result;
        }
        held = null;
      }
      throw new StoreUnavailableError(`the limit ${policy.name} is changed by too many instances at once`, {
        retryAfterMs: 1000,
      });
    });
  }

  /** Forgets the key's buckets everywhere (one write). */
  reset(policy: LimitPolicy, key: string): Promise<void> {
    const slot = heldKey(policy, key);
    const id = this.#idOf(policy, key, slot);
    return this.#serially(id, async () => {
      this.#held.delete(slot);
      await this.#records.delete(id);
    });
  }

  /** The record's id: as held, or hashed (SHA-256, the costly part of a charge held in memory). */
  #idOf(policy: LimitPolicy, key: string, slot: string): string {
    return this.#held.peek(slot)?.id ?? recordId(policy, key);
  }

  async #read(id: string, slot: string): Promise<Held> {
    const stored = await this.#records.read(id);
    // "" stands for "no record": the write that follows creates it.
    const held: Held = stored
      ? { id, buckets: parseBuckets(stored.value), version: stored.version }
      : { id, buckets: {}, version: "" };
    this.#held.set(slot, held);
    return held;
  }

  #write(id: string, policy: LimitPolicy, buckets: Buckets, version: string, now: number) {
    const perMs = policy.capacity / policy.windowMs;
    const fullyDrained = Math.max(
      now,
      ...Object.values(buckets).map((b) => b.at + Math.ceil(b.level / perMs)),
    );
    const value = {
      buckets: Object.fromEntries(Object.entries(buckets).map(([name, b]) => [name, [b.level, b.at]])),
    };
    return this.#records.write(id, policy.name, value, version === "" ? null : version, fullyDrained);
  }

  /** Runs `task` after every earlier task of the same record on this instance. */
  #serially<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => {});
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return run;
  }
}

/** Where a record is held in memory: by its policy and key, in the clear (only the store sees ids). */
function heldKey(policy: LimitPolicy, key: string): string {
  return `${policy.name}\u0000${key}`;
}

/** A record's id: hashed, so that usernames and addresses are not stored in the clear, and fixed in length. */
function recordId(policy: LimitPolicy, key: string): string {
  return sha256(`limit\u0000${policy.name}\u0000${key}`).slice(0, 40);
}

function parseBuckets(value: Record<string, unknown>): Buckets {
  const buckets: Buckets = {};
  const stored = value.buckets;
  if (stored && typeof stored === "object") {
    for (const [name, pair] of Object.entries(stored as Record<string, unknown>)) {
      if (Array.isArray(pair) && typeof pair[0] === "number" && typeof pair[1] === "number") {
        buckets[name] = { level: pair[0], at: pair[1] };
      }
    }
  }
  return buckets;
}
