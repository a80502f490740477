import { assertEpochMs } from "./keys.js";
import type { NewPoint } from "./types.js";

/** Keeps the last of several points with one timestamp, as a second write of a point replaces the first. */
export function distinctPoints(points: NewPoint[]): NewPoint[] {
  const byTimestamp = new Map<number, NewPoint>();
  for (const point of points) {
    assertEpochMs(point.timestamp_ms, "timestamp_ms");
    for (const [name, value] of Object.entries(point.metrics)) {
      // JSON (SQLite) has no NaN or Infinity; refusing them keeps both backends storing the same thing.
      if (!Number.isFinite(value)) throw new RangeError(`metric ${name} must be a finite number`);
    }
    byTimestamp.delete(point.timestamp_ms);
    byTimestamp.set(point.timestamp_ms, point);
  }
  return [...byTimestamp.values()];
}
