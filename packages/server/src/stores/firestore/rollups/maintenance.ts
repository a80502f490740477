import { type CollectionReference, FieldPath, type QueryDocumentSnapshot } from "@google-cloud/firestore";
import { queryReads } from "../../billing.js";
import { DAY_MS, utcDayOf } from "../../rollups/buckets.js";
import type { RollupStats } from "../../rollups/stats.js";
import { localMonthStart, nextLocalMonthStart } from "../../rollups/time-zone.js";
import type { TenantZone } from "../../types.js";
import { type FirestoreContext, recordFirestore } from "../context.js";
import { addToBatch, type DocumentWrite } from "../group-commit.js";
import { type DayKey, type DayShard, decodeDayShard, readDay } from "./day-documents.js";
import { encodeDayParts, monthDocId, newMonthDocument, partsOfDay, zoneKey } from "./month-documents.js";
import type { FirestoreRollupWriter } from "./writer.js";

export interface RollupMaintenanceOptions {
  rollups: CollectionReference;
  months: CollectionReference;
  intents: CollectionReference;
  /** Recomputes the slots of lapsed intents. */
  writer: FirestoreRollupWriter;
  timeZoneOf(tenant: string): Promise<TenantZone>;
  /** A day document is folded once it has not been written for this long (default 10 min). */
  quietMs?: number;
  /** Documents handled per run (default 100 of each kind). */
  batchSize?: number;
}

export interface RollupMaintenanceRun {
  /** Lapsed intents whose slots were recomputed from raw points. */
  repaired: number;
  /** Device-days folded into their months. */
  folded: number;
}

/**
 * The background half of Firestore trend rollups (docs/design/trends.md), run by one instance at a time
 * (the server runs it under a lock every minute):
 * - **repair**: an intent past its `until_ms` was left by an instance that crashed (or lost a write to an
 *   unknown outcome) while holding rollup updates back: its slots are recomputed from raw points, and the
 *   intent deleted in the same commit (unless its owner renewed it meanwhile);
 * - **fold**: a device-day written to and then quiet for `quietMs` is folded into the month documents of
 *   its tenant's time zone (its parts replaced), and marked folded in the same commit, conditional on
 *   the day being as read. A month document is created complete, from every day of the month.
 */
export function createRollupMaintenance(context: FirestoreContext, options: RollupMaintenanceOptions) {
  const quietMs = options.quietMs ?? 10 * 60_000;
  const batchSize = options.batchSize ?? 100;
  let reads = 0;
  let writes = 0;

  async function repair(): Promise<number> {
    const lapsed = await options.intents
      .where("until_ms", "<", context.clock())
      .orderBy("until_ms")
      .limit(batchSize)
      .get();
    reads += queryReads(lapsed.size);
    let repaired = 0;
    for (const intent of lapsed.docs) {
      const key: DayKey = {
        tenant: intent.get("tenant_id") as string,
        device: intent.get("device_id") as string,
        day: intent.get("day_ms") as number,
      };
      const slots = (intent.get("slots") ?? []) as number[];
      // Fails (and is retried next run) if the intent's owner renewed it meanwhile.
      await options.writer.recompute(key, slots, [
        { op: "delete", ref: intent.ref, lastUpdateTime: intent.updateTime },
      ]);
      repaired += 1;
    }
    return repaired;
  }

  async function fold(): Promise<number> {
    const quiet = await options.rollups
      .where("folded", "==", false)
      .where("written_ms", "<", context.clock() - quietMs)
      .orderBy("written_ms")
      .limit(batchSize)
      .get();
    reads += queryReads(quiet.size);
    const days = new Map<string, DayKey>();
    for (const doc of quiet.docs) {
      const key: DayKey = {
        tenant: doc.get("tenant_id") as string,
        device: doc.get("device_id") as string,
        day: doc.get("day_ms") as number,
      };
      days.set(`${key.tenant}\u0000${key.device}\u0000${key.day}`, key);
    }
    const zones = new Map<string, TenantZone>();
    for (const key of days.values()) {
      let zone = zones.get(key.tenant);
      if (!zone) {
        zone = await options.timeZoneOf(key.tenant);
        zones.set(key.tenant, zone);
      }
      await foldDay(key, zone);
    }
    return days.size;
  }

  async function foldDay(key: DayKey, zone: TenantZone): Promise<void> {
    const { day, reads: dayReads } = await readDay(context.db, options.rollups.id, key);
    reads += dayReads;
    if (day.shards.length === 0) return;
    const parts = partsOfDay(key.day, day.shards, zone.timeZone);
    // The months the day's local days fall in, data or not: a part emptied since the last fold is cleared.
    const months = new Set([
      localMonthStart(key.day, zone.timeZone),
      localMonthStart(key.day + DAY_MS - 1, zone.timeZone),
    ]);
    const zoned = zoneKey(zone);
    const batchWrites: DocumentWrite[] = [];
    for (const month of months) {
      const inMonth = new Map(
        [...parts].filter(([local]) => localMonthStart(local, zone.timeZone) === month),
      );
      const ref = options.months.doc(monthDocId(key.tenant, key.device, zoned, month));
      const snapshot = await ref.get();
      reads += 1;
      if (snapshot.exists) {
        batchWrites.push({
          op: "update",
          ref,
          fields: [[new FieldPath("parts", String(key.day)), encodeDayParts(inMonth)]],
          lastUpdateTime: snapshot.updateTime!,
        });
        continue;
      }
      const all = await monthParts(key, month, zone, day.shards);
      batchWrites.push({
        op: "create",
        ref,
        data: newMonthDocument(
          { tenant: key.tenant, device: key.device, zone: zoned, timeZone: zone.timeZone, month },
          all,
        ),
      });
    }
    for (const shard of day.shards) {
      batchWrites.push({
        op: "update",
        ref: shard.ref,
        fields: [[new FieldPath("folded"), true]],
        lastUpdateTime: shard.updateTime!,
      });
    }
    const batch = context.db.batch();
    for (const write of batchWrites) addToBatch(batch, write);
    await batch.commit();
    writes += batchWrites.length;
  }

  /** Every day of a local month, for a month document created complete. */
  async function monthParts(
    key: DayKey,
    month: number,
    zone: TenantZone,
    folding: readonly DayShard[],
  ): Promise<Map<number, Map<number, Map<string, RollupStats>>>> {
    const next = nextLocalMonthStart(month, zone.timeZone);
    const snapshot = await options.rollups
      .where("tenant_id", "==", key.tenant)
      .where("device_id", "==", key.device)
      .where("day_ms", ">=", utcDayOf(month))
      .where("day_ms", "<", next)
      .get();
    reads += queryReads(snapshot.size);
    const byDay = new Map<number, DayShard[]>();
    for (const doc of snapshot.docs as QueryDocumentSnapshot[]) {
      const dayMs = doc.get("day_ms") as number;
      if (dayMs === key.day) continue;
      byDay.set(dayMs, [...(byDay.get(dayMs) ?? []), decodeDayShard(doc)]);
    }
    byDay.set(key.day, [...folding]);
    const all = new Map<number, Map<number, Map<string, RollupStats>>>();
    for (const [dayMs, shards] of byDay) {
      const inMonth = new Map(
        [...partsOfDay(dayMs, shards, zone.timeZone)].filter(
          ([local]) => localMonthStart(local, zone.timeZone) === month,
        ),
      );
      all.set(dayMs, inMonth);
    }
    return all;
  }

  return {
    /** One pass: lapsed intents first (their days then fold with the repaired slots), then quiet days. */
    async runOnce(): Promise<RollupMaintenanceRun> {
      reads = 0;
      writes = 0;
      try {
        const repaired = await repair();
        const folded = await fold();
        return { repaired, folded };
      } finally {
        recordFirestore(context, "rollups", reads, writes);
      }
    },
  };
}

export type RollupMaintenance = ReturnType<typeof createRollupMaintenance>;
