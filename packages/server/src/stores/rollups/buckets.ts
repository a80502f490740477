import { type AggregateQuery, MAX_AGGREGATE_BUCKETS, QueryRangeError } from "../types.js";
import { localDayStart, nextLocalDayStart } from "./time-zone.js";

/** The stored grain: every rollup is kept per five-minute slot, and every interval is made of slots. */
export const SLOT_MS = 5 * 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

const WIDTH_MS = { "5m": SLOT_MS, "15m": 3 * SLOT_MS, "1h": HOUR_MS } as const;

/** The slot a timestamp falls in. */
export function slotOf(t: number): number {
  return Math.floor(t / SLOT_MS) * SLOT_MS;
}

/** The UTC day a timestamp falls in. */
export function utcDayOf(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/**
 * A zone's local day boundary on the slot grid. Every zone in use today is offset from UTC by a whole
 * number of quarter hours, so this changes nothing for them; a historic offset of odd minutes would be
 * rounded down to its slot.
 */
function onGrid(t: number): number {
  return slotOf(t);
}

/** The start of the local day (on the slot grid) that contains `t`. */
export function dayStartIn(t: number, zone: string): number {
  return onGrid(localDayStart(t, zone));
}

/** The start of the local day after the one starting at `dayStart` (on the slot grid). */
export function nextDayStartIn(dayStart: number, zone: string): number {
  return onGrid(nextLocalDayStart(dayStart, zone));
}

/**
 * The boundaries of a query's buckets, oldest first: `[b0, b1, …, bn]`, bucket i being [bi, bi+1). `b0`
 * is the start of the bucket that holds `from`; the last bucket is the one that holds `to - 1`.
 * Throws `QueryRangeError` past `MAX_AGGREGATE_BUCKETS` buckets, or for an empty range.
 *
 * @example
 * bucketBoundaries({ from: 0, to: 7_200_000, interval: "1h", timeZone: "UTC" }); // [0, 3_600_000, 7_200_000]
 */
export function bucketBoundaries(
  query: Pick<AggregateQuery, "from" | "to" | "interval" | "timeZone">,
): number[] {
  const { from, to, interval } = query;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
    throw new QueryRangeError("from and to must be integer epoch milliseconds");
  }
  if (from >= to) throw new QueryRangeError("from must be before to");
  if (interval === "1d") {
    // A local day is at least 23 hours: a cheap bound before walking the days.
    if ((to - from) / (23 * HOUR_MS) > MAX_AGGREGATE_BUCKETS + 1) throw tooMany(interval);
    const boundaries = [dayStartIn(from, query.timeZone)];
    while (boundaries.at(-1)! < to) {
      boundaries.push(nextDayStartIn(boundaries.at(-1)!, query.timeZone));
      if (boundaries.length > MAX_AGGREGATE_BUCKETS + 1) throw tooMany(interval);
    }
    return boundaries;
  }
  const width = WIDTH_MS[interval];
  const first = Math.floor(from / width) * width;
  const count = Math.ceil((to - first) / width);
  if (count > MAX_AGGREGATE_BUCKETS) throw tooMany(interval);
  return Array.from({ length: count + 1 }, (_, i) => first + i * width);
}

function tooMany(interval: string): QueryRangeError {
  return new QueryRangeError(
    `the range spans more than ${MAX_AGGREGATE_BUCKETS} buckets of ${interval}; ask for a shorter range or a wider interval`,
  );
}
