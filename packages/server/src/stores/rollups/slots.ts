import type { RollupCell } from "./assemble.js";
import { slotOf } from "./buckets.js";
import { accumulatePoint, type RollupStats } from "./stats.js";

/** Rollups by five-minute slot, then by metric. */
export type SlotStats = Map<number, Map<string, RollupStats>>;

/** The rollups of a set of distinct points, slot by slot. */
export function slotStatsOf(
  points: Iterable<{ timestamp_ms: number; metrics: Record<string, number> }>,
): SlotStats {
  const slots: SlotStats = new Map();
  for (const point of points) {
    const slot = slotOf(point.timestamp_ms);
    let metrics = slots.get(slot);
    if (!metrics) {
      metrics = new Map();
      slots.set(slot, metrics);
    }
    accumulatePoint(metrics, point.timestamp_ms, point.metrics);
  }
  return slots;
}

/** The cells of slot rollups, for `assembleBuckets`. */
export function* cellsOf(slots: SlotStats): Iterable<RollupCell> {
  for (const [slot, metrics] of slots) {
    for (const [metric, stats] of metrics) yield { start_ms: slot, metric, stats };
  }
}
