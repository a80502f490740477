import type { AggregateBucket } from "../types.js";
import { combineStats, type RollupStats, toMetricAggregate } from "./stats.js";

/** Stored stats that lie wholly inside one bucket: a five-minute slot, or a part of a local day. */
export interface RollupCell {
  start_ms: number;
  metric: string;
  stats: RollupStats;
}

/**
 * Folds stored cells into the buckets of `boundaries` (`bucketBoundaries`), keeping only `metrics` when
 * given; empty buckets are left out. The cells may come in any order.
 *
 * @example
 * assembleBuckets([0, 3_600_000], cells); // [{ start_ms: 0, metrics: { zone_temp_c: { min, max, … } } }]
 */
export function assembleBuckets(
  boundaries: readonly number[],
  cells: Iterable<RollupCell>,
  metrics?: ReadonlySet<string>,
): AggregateBucket[] {
  const first = boundaries[0]!;
  const end = boundaries.at(-1)!;
  const buckets = new Map<number, Map<string, RollupStats>>();
  for (const cell of cells) {
    if (cell.start_ms < first || cell.start_ms >= end) continue;
    if (metrics && !metrics.has(cell.metric)) continue;
    const index = bucketIndex(boundaries, cell.start_ms);
    let bucket = buckets.get(index);
    if (!bucket) {
      bucket = new Map();
      buckets.set(index, bucket);
    }
    const held = bucket.get(cell.metric);
    bucket.set(cell.metric, held ? combineStats(held, cell.stats) : cell.stats);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, bucket]) => ({
      start_ms: boundaries[index]!,
      metrics: Object.fromEntries(
        [...bucket.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([name, stats]) => [name, toMetricAggregate(stats)]),
      ),
    }));
}

/** The index i of the bucket [bi, bi+1) that holds t (binary search; t is inside the range). */
function bucketIndex(boundaries: readonly number[], t: number): number {
  let low = 0;
  let high = boundaries.length - 2;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (boundaries[middle]! <= t) low = middle;
    else high = middle - 1;
  }
  return low;
}
