import { BoundedMap, entryOverhead } from "../bounded-map.js";
import type { Clock, NewPoint, TenantId } from "../stores/types.js";
import { judgeQuiet, judgeReadings } from "./judge.js";
import type { Alarm, AlarmRule, AlarmsStore } from "./types.js";

/** How long a device's cached rules are trusted while the change feed is heard, and while it is not. */
const TRUSTED_MS = 10 * 60_000;
const UNTRUSTED_MS = 5_000;

interface HeldRules {
  rules: AlarmRule[];
  at: number;
}

/**
 * Judges alarm rules as evidence arrives (docs/design/alarms.md): a device's threshold rules on every
 * accepted write, its offline rules in the fleet's one sweep. Where a rule stands lives in the store and
 * changes only in the store's transaction, so any instance may judge any point; this class holds only
 * each device's rules, so that a device without rules costs no read per write. A rule change anywhere is
 * published on the fleet's change feed and every instance forgets the device's rules (`forget`).
 *
 * @example
 * const evaluator = new AlarmEvaluator(() => alarms, { clock, maxBytes: 4 * 2 ** 20, announce });
 * await evaluator.pointsWritten(tenant, deviceId, points);
 */
export class AlarmEvaluator {
  readonly #store: () => AlarmsStore;
  readonly #clock: Clock;
  readonly #held: BoundedMap<string, HeldRules>;
  #generation = 0;
  #feedHealthy = false;

  readonly #announce: (tenant: TenantId, deviceId: string) => Promise<void>;

  /**
   * `announce` tells every instance that the device's rules changed (the fleet's change feed, which
   * calls `forget` on each).
   */
  constructor(
    store: () => AlarmsStore,
    options: {
      clock: Clock;
      maxBytes: number;
      announce: (tenant: TenantId, deviceId: string) => Promise<void>;
    },
  ) {
    this.#store = store;
    this.#announce = options.announce;
    this.#clock = options.clock;
    this.#held = new BoundedMap<string, HeldRules>({
      maxBytes: Math.max(1, options.maxBytes),
      // A rule serialises to ~250 bytes; an entry without rules still costs its key and bookkeeping
      // (measured against the heap in bench/children/structure-sizes.ts).
      sizeOf: (held, key) => entryOverhead(key) + 40 + held.rules.length * 256,
    });
  }

  /** The device's rules: from memory while trusted, else one query. */
  async rules(tenant: TenantId, deviceId: string): Promise<AlarmRule[]> {
    const key = `${tenant}\u0000${deviceId}`;
    const now = this.#clock();
    const held = this.#held.get(key);
    if (held && now - held.at < (this.#feedHealthy ? TRUSTED_MS : UNTRUSTED_MS)) return held.rules;
    const generation = this.#generation;
    const rules = await this.#store().rulesForDevice(tenant, deviceId);
    // A rule change heard while this read was under way may not be in it: keep it for this call only.
    if (generation === this.#generation) this.#held.set(key, { rules, at: now });
    return rules;
  }

  /** Forgets a device's rules (a rule of it changed, here or on another instance). */
  forget(tenant: TenantId, deviceId: string): void {
    this.#generation += 1;
    this.#held.delete(`${tenant}\u0000${deviceId}`);
  }

  /** A rule of the device was created or deleted: forget here, and tell every instance. */
  async rulesChanged(tenant: TenantId, deviceId: string): Promise<void> {
    this.forget(tenant, deviceId);
    await this.#announce(tenant, deviceId);
  }

  forgetAll(): void {
    this.#generation += 1;
    this.#held.clear();
  }

  /** Whether the change feed is heard: cached rules are trusted for minutes if so, seconds if not. */
  feedHealthy(healthy: boolean): void {
    this.#feedHealthy = healthy;
  }

  get bytes(): number {
    return this.#held.bytes;
  }

  /**
   * Judges the device's threshold rules on points just written: per rule with readings of its metric,
   * one transaction (1 read; a write only when the rule's state moves, or once a minute of readings:
   * `QUIET_STATE_WRITE_MS`), the rules at once, since each is its own document. Returns the alarms raised.
   */
  async pointsWritten(tenant: TenantId, deviceId: string, points: readonly NewPoint[]): Promise<Alarm[]> {
    const rules = await this.rules(tenant, deviceId);
    const judged = rules.map(async (rule): Promise<Alarm[]> => {
      if (rule.kind !== "threshold") return [];
      const readings = points.flatMap((point) => {
        const value = point.metrics[rule.metric];
        return value === undefined ? [] : [{ timestamp_ms: point.timestamp_ms, value }];
      });
      if (readings.length === 0) return [];
      const result = await this.#store().evaluate(tenant, rule.id, (stored, state) =>
        judgeReadings(stored, state, readings),
      );
      if (result.status === "missing") this.forget(tenant, deviceId);
      return result.status === "done" ? result.raised : [];
    });
    return (await Promise.all(judged)).flat();
  }
}

export interface OfflineSweepOptions {
  alarms: AlarmsStore;
  /** When the device was last heard from (null: never, or no such device). */
  lastSeen(tenant: TenantId, deviceId: string): Promise<number | null>;
  /** The lock's fencing token (null when nothing fences: one process, tests). */
  fence: string | null;
  now: number;
  pageSize?: number;
  /** Called after a rule's evidence is read and before its transition is written (tests pause here). */
  beforeTransition?: (rule: AlarmRule) => Promise<void>;
}

/**
 * One pass of the offline sweep (run by one instance of the fleet, under the service lock): records its
 * fence, then judges every offline rule on its device's `last_seen_ms`, each transition fenced, so that a
 * holder that outlived its lease writes nothing once a newer holder has recorded its fence.
 */
export async function sweepOffline(
  options: OfflineSweepOptions,
): Promise<{ raised: number; cleared: number; fenced: boolean }> {
  const { alarms, fence, now } = options;
  const counts = { raised: 0, cleared: 0, fenced: false };
  if (fence !== null && !(await alarms.recordFence(fence))) return { ...counts, fenced: true };
  let cursor: string | null = null;
  do {
    const page = await alarms.offlineRules({ limit: options.pageSize ?? 200, cursor });
    for (const rule of page.items) {
      const seen = await options.lastSeen(rule.tenant_id, rule.device_id);
      await options.beforeTransition?.(rule);
      const result = await alarms.evaluate(
        rule.tenant_id,
        rule.id,
        (stored, state) => judgeQuiet(stored, state, seen, now),
        fence === null ? {} : { fence },
      );
      if (result.status === "fenced") return { ...counts, fenced: true };
      if (result.status === "done") {
        counts.raised += result.raised.length;
        counts.cleared += result.cleared.length;
      }
    }
    cursor = page.next_cursor;
  } while (cursor);
  return counts;
}
