import { type DocumentData, type QueryDocumentSnapshot, Timestamp } from "@google-cloud/firestore";
import { sha256 } from "../../keys.js";
import { DAY_MS, dayStartIn, nextDayStartIn, SLOT_MS } from "../../rollups/buckets.js";
import { accumulate, decodeStats, encodeStats, type RollupStats } from "../../rollups/stats.js";
import { localMonthStart, nextLocalMonthStart } from "../../rollups/time-zone.js";
import { ROLLUP_RETENTION_MS } from "../../types.js";
import type { DayShard } from "./day-documents.js";

/**
 * The daily tier on Firestore (docs/design/trends.md): one document per device, time zone and local
 * month, so that 90 days at 1 day are 4 documents. A local day rarely coincides with a UTC day, so the
 * document keeps each local day as *parts*, one per UTC day it overlaps: `parts.<utc day>.<local day>.
 * <metric>` = the stats of that metric over the overlap. Folding a UTC day document replaces its parts
 * whole; a query replaces the parts of day documents not yet folded by those documents themselves.
 * The zone is part of the key, with the time the tenant chose it (`zoneKey`): after a change, months are
 * built anew, and a change back to an earlier zone never finds that zone's months as they were then.
 */
export function monthDocId(tenant: string, device: string, zone: string, month: number): string {
  return sha256(`rollup-month\u0000${tenant}\u0000${device}\u0000${zone}\u0000${month}`).slice(0, 40);
}

/** The zone as month documents are keyed: its name and when the tenant set it. */
export function zoneKey(query: { timeZone: string; timeZoneSince?: number }): string {
  return `${query.timeZone}@${query.timeZoneSince ?? 0}`;
}

/** UTC day → local day start → metric → stats. */
export type MonthParts = Map<number, Map<number, Map<string, RollupStats>>>;

export function decodeMonthParts(snapshot: QueryDocumentSnapshot): MonthParts {
  const parts: MonthParts = new Map();
  const raw = (snapshot.get("parts") ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const [utcDay, days] of Object.entries(raw)) {
    const localDays = new Map<number, Map<string, RollupStats>>();
    for (const [localDay, metrics] of Object.entries(days)) {
      localDays.set(
        Number(localDay),
        new Map(Object.entries(metrics).map(([name, value]) => [name, decodeStats(value)])),
      );
    }
    parts.set(Number(utcDay), localDays);
  }
  return parts;
}

/** The parts of a UTC day's shards, by local day in `zone`. */
export function partsOfDay(
  utcDay: number,
  shards: readonly DayShard[],
  zone: string,
): Map<number, Map<string, RollupStats>> {
  const localDays: number[] = [dayStartIn(utcDay, zone)];
  while (localDays.at(-1)! < utcDay + DAY_MS) localDays.push(nextDayStartIn(localDays.at(-1)!, zone));
  const parts = new Map<number, Map<string, RollupStats>>();
  for (const shard of shards) {
    for (const [metric, slots] of shard.metrics) {
      for (const [index, stats] of slots) {
        const slot = utcDay + index * SLOT_MS;
        let i = 0;
        while (localDays[i + 1]! <= slot) i += 1;
        const local = localDays[i]!;
        let metrics = parts.get(local);
        if (!metrics) {
          metrics = new Map();
          parts.set(local, metrics);
        }
        accumulate(metrics, metric, stats);
      }
    }
  }
  return parts;
}

/** The local months (their starts) the local days of `parts` fall in. */
export function monthsOf(localDays: Iterable<number>, zone: string): Set<number> {
  return new Set([...localDays].map((day) => localMonthStart(day, zone)));
}

export function encodeDayParts(parts: Map<number, Map<string, RollupStats>>): DocumentData {
  return Object.fromEntries(
    [...parts].map(([local, metrics]) => [
      String(local),
      Object.fromEntries([...metrics].map(([name, stats]) => [name, encodeStats(stats)])),
    ]),
  );
}

/** The fields of a new month document: `zone` is its key (`zoneKey`), `timeZone` the IANA zone. */
export function newMonthDocument(
  key: { tenant: string; device: string; zone: string; timeZone: string; month: number },
  parts: Map<number, Map<number, Map<string, RollupStats>>>,
): DocumentData {
  const end = nextLocalMonthStart(key.month, key.timeZone);
  return {
    tenant_id: key.tenant,
    device_id: key.device,
    zone: key.zone,
    month_ms: key.month,
    expire_at: Timestamp.fromMillis(end + ROLLUP_RETENTION_MS),
    parts: Object.fromEntries([...parts].map(([utcDay, days]) => [String(utcDay), encodeDayParts(days)])),
  };
}
