import type { CollectionReference, Timestamp } from "@google-cloud/firestore";
import { HOUR_MS, SLOT_MS } from "../../rollups/buckets.js";

/** Points of a range read in one query, so at one instant: `readTime` (what a recomputed slot records). */
export interface RawChunk {
  from: number;
  to: number;
  points: Array<{ timestamp_ms: number; metrics: Record<string, number> }>;
  readTime: Timestamp;
}

/** Points per query before a range is split: a query's results are held in memory at once. */
const MAX_POINTS_PER_QUERY = 5000;

/**
 * A device's raw points in [from, to) (slot-aligned), for recomputing rollups from them. Each chunk is
 * one query, consistent at its read time; a range with more than 5,000 points is split into hours, an
 * hour into slots (a slot is always read whole: at 600 points a minute it holds 3,000).
 * Served by the telemetry index (tenant_id, device_id, timestamp_ms desc).
 */
export async function readRawPoints(
  telemetry: CollectionReference,
  tenant: string,
  device: string,
  from: number,
  to: number,
): Promise<{ chunks: RawChunk[]; reads: number }> {
  const chunks: RawChunk[] = [];
  let reads = 0;
  const visit = async (start: number, end: number): Promise<void> => {
    const whole = end - start <= SLOT_MS;
    let query = telemetry
      .where("tenant_id", "==", tenant)
      .where("device_id", "==", device)
      .where("timestamp_ms", ">=", start)
      .where("timestamp_ms", "<", end)
      .orderBy("timestamp_ms", "desc");
    if (!whole) query = query.limit(MAX_POINTS_PER_QUERY + 1);
    const snapshot = await query.get();
    reads += Math.max(1, snapshot.size);
    if (whole || snapshot.size <= MAX_POINTS_PER_QUERY) {
      chunks.push({
        from: start,
        to: end,
        points: snapshot.docs.map((doc) => ({
          timestamp_ms: doc.get("timestamp_ms") as number,
          metrics: doc.get("metrics") as Record<string, number>,
        })),
        readTime: snapshot.readTime,
      });
      return;
    }
    const step = end - start > HOUR_MS ? HOUR_MS : SLOT_MS;
    for (let at = start; at < end; at += step) await visit(at, Math.min(end, at + step));
  };
  await visit(from, to);
  return { chunks, reads };
}
