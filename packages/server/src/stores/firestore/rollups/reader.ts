import type { CollectionReference, Timestamp } from "@google-cloud/firestore";
import { queryReads } from "../../billing.js";
import { assembleBuckets, type RollupCell } from "../../rollups/assemble.js";
import { bucketBoundaries, SLOT_MS, slotOf, utcDayOf } from "../../rollups/buckets.js";
import { localMonthStart, nextLocalMonthStart } from "../../rollups/time-zone.js";
import { type AggregateBucket, type AggregateQuery, ROLLUP_RETENTION_MS } from "../../types.js";
import { type FirestoreContext, recordFirestore, withFirestore } from "../context.js";
import { type DayShard, dayCells, decodeDayShard } from "./day-documents.js";
import { decodeMonthParts, type MonthParts, zoneKey } from "./month-documents.js";
import { type FirestoreRollupWriter, notAfter, rebuiltTimes } from "./writer.js";

/**
 * Trend queries on Firestore (docs/design/trends.md). Their cost is a matter of documents, never of
 * points: `5m`, `15m` and `1h` read the device-day documents of the range (one query: 2 for 24 hours,
 * 8 for 7 days); `1d` reads the month documents of the tenant's zone (4 for 90 days), the day documents
 * not yet folded into them (one query, usually today's), and day documents in place of a month not yet
 * built. Updates this instance holds back for a fast device are added to the days read.
 */
export async function aggregateFromRollups(
  context: FirestoreContext,
  collections: { rollups: CollectionReference; months: CollectionReference },
  writer: FirestoreRollupWriter,
  tenant: string,
  device: string,
  query: AggregateQuery,
): Promise<AggregateBucket[]> {
  const boundaries = bucketBoundaries(query);
  const end = boundaries.at(-1)!;
  // Rollups past their retention are gone to the reader even before TTL deletes them.
  const kept = slotOf(context.clock() - ROLLUP_RETENTION_MS) + SLOT_MS;
  const from = Math.max(boundaries[0]!, kept);
  const metrics = query.metrics && new Set(query.metrics);
  if (from >= end) {
    recordFirestore(context, "rollups", 0, 0);
    return [];
  }
  let reads = 0;
  /** Read times of the day queries, by the range they covered (held-back days no document answered). */
  const covered: Array<{ from: number; to: number; readTime: Timestamp }> = [];
  const days = (range: { from: number; to: number }, unfoldedOnly: boolean) => {
    let q = collections.rollups.where("tenant_id", "==", tenant).where("device_id", "==", device);
    if (unfoldedOnly) q = q.where("folded", "==", false);
    return withFirestore(() =>
      q.where("day_ms", ">=", utcDayOf(range.from)).where("day_ms", "<", range.to).get(),
    ).then((snapshot) => {
      reads += queryReads(snapshot.size);
      covered.push({ from: utcDayOf(range.from), to: range.to, readTime: snapshot.readTime });
      return snapshot.docs.map((doc) => ({
        day: doc.get("day_ms") as number,
        shard: decodeDayShard(doc),
        readTime: snapshot.readTime,
      }));
    });
  };
  try {
    const cells: RollupCell[] = [];
    const fromDays = async (read: Array<{ day: number; shard: DayShard; readTime: Timestamp }>) => {
      const byDay = new Map<number, Array<{ shard: DayShard; readTime: Timestamp }>>();
      for (const entry of read) byDay.set(entry.day, [...(byDay.get(entry.day) ?? []), entry]);
      // A day whose updates are all held back has no document yet: its read time is its query's.
      const withHeld = new Map(byDay);
      for (const day of writer.heldBackDays(tenant, device)) {
        const query = covered.find((range) => range.from <= day && day < range.to);
        if (query && !withHeld.has(day)) withHeld.set(day, []);
      }
      for (const [day, entries] of withHeld) {
        const shards = entries.map((entry) => entry.shard);
        const queryTime = covered.find((range) => range.from <= day && day < range.to)!.readTime;
        cells.push(...dayCells({ day, shards }));
        const rebuilt = rebuiltTimes({ tenant, device, day, shards });
        // When the metric's shard was read (a metric in no shard read: the earliest read of the day).
        const readTimeOf = (metric: string) =>
          entries.find((entry) => entry.shard.metrics.has(metric))?.readTime ??
          entries.reduce((a, b) => (notAfter(a, b.readTime) ? a : b.readTime), queryTime);
        for (const held of writer.heldBack({ tenant, device, day })) {
          // Being written by a flush: already in the document if the flush committed before the read.
          const flushed = held.flushing ? await held.flushing : null;
          for (const [metric, slots] of held.cells) {
            if (flushed && notAfter(flushed, readTimeOf(metric))) continue;
            for (const [index, stats] of slots) {
              const at = rebuilt.get(index);
              if (at && notAfter(held.commitTime, at)) continue;
              cells.push({ start_ms: day + index * SLOT_MS, metric, stats });
            }
          }
        }
      }
      return new Map([...byDay].map(([day, entries]) => [day, entries.map((entry) => entry.shard)]));
    };

    if (query.interval !== "1d") {
      await fromDays(await days({ from, to: end }, false));
    } else {
      const zone = query.timeZone;
      const firstMonth = localMonthStart(from, zone);
      const lastMonth = localMonthStart(end - 1, zone);
      const monthSnapshot = await withFirestore(() =>
        collections.months
          .where("tenant_id", "==", tenant)
          .where("device_id", "==", device)
          .where("zone", "==", zoneKey(query))
          .where("month_ms", ">=", firstMonth)
          .where("month_ms", "<=", lastMonth)
          .get(),
      );
      reads += queryReads(monthSnapshot.size);
      const months = new Map<number, MonthParts>(
        monthSnapshot.docs.map((doc) => [doc.get("month_ms") as number, decodeMonthParts(doc)]),
      );
      // Months with no document yet (never folded in this zone): their days are read instead.
      const missing: Array<{ from: number; to: number }> = [];
      for (let month = firstMonth; month <= lastMonth; month = nextLocalMonthStart(month, zone)) {
        if (months.has(month)) continue;
        const range = { from: Math.max(month, from), to: Math.min(nextLocalMonthStart(month, zone), end) };
        const previous = missing.at(-1);
        if (previous && previous.to >= range.from) previous.to = range.to;
        else missing.push(range);
      }
      const read = [...(await days({ from, to: end }, true))];
      for (const range of missing) read.push(...(await days(range, false)));
      // A shard read more than once (unfolded, in a missing month) counts once.
      const unique = new Map(read.map((entry) => [entry.shard.ref.path, entry]));
      const byDay = await fromDays([...unique.values()]);
      // The month documents' parts, but for the metrics of a day whose shards were read above.
      for (const parts of months.values()) {
        for (const [utcDay, localDays] of parts) {
          const read = new Set<string>();
          for (const shard of byDay.get(utcDay) ?? [])
            for (const name of shard.metrics.keys()) read.add(name);
          for (const [localDay, stats] of localDays) {
            for (const [metric, value] of stats) {
              if (!read.has(metric)) cells.push({ start_ms: localDay, metric, stats: value });
            }
          }
        }
      }
    }
    return assembleBuckets(
      boundaries,
      cells.filter((cell) => cell.start_ms >= from),
      metrics,
    );
  } finally {
    recordFirestore(context, "rollups", reads, 0);
  }
}
