import type { MetricAggregate } from "../types.js";

/**
 * What a rollup keeps of one metric over one stored bucket (docs/design/trends.md): enough to combine
 * two buckets exactly, in any order. First and last carry their timestamps, so that a late point older
 * than the bucket's first replaces it.
 */
export interface RollupStats {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  first_ms: number;
  last: number;
  last_ms: number;
}

/** The stats of one reading. */
export function pointStats(timestampMs: number, value: number): RollupStats {
  return {
    count: 1,
    sum: value,
    min: value,
    max: value,
    first: value,
    first_ms: timestampMs,
    last: value,
    last_ms: timestampMs,
  };
}

/** The stats of two disjoint sets of points together (commutative and associative but for the sum's rounding). */
export function combineStats(a: RollupStats, b: RollupStats): RollupStats {
  const firstOfB = b.first_ms < a.first_ms;
  const lastOfB = b.last_ms > a.last_ms;
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    first: firstOfB ? b.first : a.first,
    first_ms: firstOfB ? b.first_ms : a.first_ms,
    last: lastOfB ? b.last : a.last,
    last_ms: lastOfB ? b.last_ms : a.last_ms,
  };
}

/** Adds `stats` to the metric's entry of `into` (creating it). */
export function accumulate(into: Map<string, RollupStats>, metric: string, stats: RollupStats): void {
  const held = into.get(metric);
  into.set(metric, held ? combineStats(held, stats) : stats);
}

/** Adds one point's readings, metric by metric. */
export function accumulatePoint(
  into: Map<string, RollupStats>,
  timestampMs: number,
  metrics: Record<string, number>,
): void {
  for (const name in metrics) accumulate(into, name, pointStats(timestampMs, metrics[name]!));
}

/** What the API answers for a bucket's metric. */
export function toMetricAggregate(stats: RollupStats): MetricAggregate {
  return {
    min: stats.min,
    max: stats.max,
    avg: stats.sum / stats.count,
    sum: stats.sum,
    count: stats.count,
    first: stats.first,
    last: stats.last,
  };
}

/**
 * The stored form on Firestore: eight numbers in a fixed order, `[count, sum, min, max, first, last,
 * first_ms, last_ms]` (an array costs 8 bytes a number; named fields would cost their names too).
 */
export function encodeStats(stats: RollupStats): number[] {
  return [
    stats.count,
    stats.sum,
    stats.min,
    stats.max,
    stats.first,
    stats.last,
    stats.first_ms,
    stats.last_ms,
  ];
}

export function decodeStats(value: unknown): RollupStats {
  if (!Array.isArray(value) || value.length !== 8 || !value.every((n) => typeof n === "number")) {
    throw new TypeError("a stored rollup is not eight numbers");
  }
  const [count, sum, min, max, first, last, first_ms, last_ms] = value as number[];
  return {
    count: count!,
    sum: sum!,
    min: min!,
    max: max!,
    first: first!,
    first_ms: first_ms!,
    last: last!,
    last_ms: last_ms!,
  };
}
