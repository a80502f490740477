import { assertEpochMs } from "./keys.js";
import { isMetricName, type NewPoint } from "./types.js";

/** Keeps the last of several points with one timestamp, as a second write of a point replaces the first. */
export function distinctPoints(points: NewPoint[]): NewPoint[] {
  let ascending = true;
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    assertEpochMs(point.timestamp_ms, "timestamp_ms");
    for (const name in point.metrics) {
      // Both backends take the same names and values: JSON (SQLite) has no NaN or Infinity, and
      // Firestore reserves `__…__` field names.
      if (!isMetricName(name)) throw new RangeError(`metric name ${JSON.stringify(name)} is not valid`);
      if (!Number.isFinite(point.metrics[name]))
        throw new RangeError(`metric ${name} must be a finite number`);
    }
    if (i > 0 && point.timestamp_ms <= points[i - 1]!.timestamp_ms) ascending = false;
  }
  // A device's batch is nearly always in time order: then no timestamp repeats, and nothing is copied.
  if (ascending) return points;
  const byTimestamp = new Map<number, NewPoint>();
  for (const point of points) {
    byTimestamp.delete(point.timestamp_ms);
    byTimestamp.set(point.timestamp_ms, point);
  }
  return [...byTimestamp.values()];
}
