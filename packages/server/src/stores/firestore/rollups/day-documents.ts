import {
  type DocumentData,
  type DocumentReference,
  FieldPath,
  FieldValue,
  type Firestore,
  type QueryDocumentSnapshot,
  Timestamp,
} from "@google-cloud/firestore";
import { sha256 } from "../../keys.js";
import { DAY_MS, SLOT_MS } from "../../rollups/buckets.js";
import { decodeStats, encodeStats, type RollupStats } from "../../rollups/stats.js";
import { ROLLUP_RETENTION_MS } from "../../types.js";
import type { DocumentWrite } from "../group-commit.js";

/**
 * A device-day of five-minute rollups on Firestore (docs/design/trends.md): one document per device,
 * UTC day and shard, `m.<metric>.<slot>` = `[count, sum, min, max, first, last, first_ms, last_ms]` for
 * the 288 slots of the day. A day is what a trend query reads: 24 hours at 5 minutes is 2 documents,
 * 7 days at 1 hour 8. A shard holds at most `METRICS_PER_SHARD` metrics, which keeps the document under
 * Firestore's 1 MiB with metric names of 64 characters (40 × 288 × (8 × 8 + 4) B ≈ 790 KB); a device
 * with more metrics in a day spills into further shards.
 *
 * `rebuilt.<slot>` is when a slot was last recomputed from raw points (a query's read time): rollup
 * deltas held back for points committed before it are already in the slot and must not be added again.
 * `folded` is false until the day has been folded into the daily tier; `written_ms` is the last write.
 */
export const METRICS_PER_SHARD = 40;
export const SLOTS_PER_DAY = DAY_MS / SLOT_MS;

export interface DayKey {
  tenant: string;
  device: string;
  day: number;
}

export function dayKeyString(key: DayKey): string {
  return `${key.tenant}\u0000${key.device}\u0000${key.day}`;
}

export function dayShardId(key: DayKey, shard: number): string {
  return sha256(`rollup-day\u0000${key.tenant}\u0000${key.device}\u0000${key.day}\u0000${shard}`).slice(
    0,
    40,
  );
}

/** One shard document as read, or as this instance last wrote it. */
export interface DayShard {
  shard: number;
  ref: DocumentReference;
  /** Null for a shard that does not exist yet (its first write creates it). */
  updateTime: Timestamp | null;
  folded: boolean;
  /** Metric → slot index → stats. */
  metrics: Map<string, Map<number, RollupStats>>;
  rebuilt: Map<number, Timestamp>;
}

/** Every shard of a device-day, in shard order: the unit a rollup write reads and writes. */
export interface DayRollup extends DayKey {
  shards: DayShard[];
}

export function slotIndex(day: number, slot: number): number {
  return (slot - day) / SLOT_MS;
}

export function decodeDayShard(snapshot: QueryDocumentSnapshot): DayShard {
  const data = snapshot.data();
  const metrics = new Map<string, Map<number, RollupStats>>();
  for (const [name, slots] of Object.entries((data.m ?? {}) as Record<string, Record<string, unknown>>)) {
    metrics.set(
      name,
      new Map(Object.entries(slots).map(([index, value]) => [Number(index), decodeStats(value)])),
    );
  }
  const rebuilt = new Map<number, Timestamp>(
    Object.entries((data.rebuilt ?? {}) as Record<string, Timestamp>).map(([index, at]) => [
      Number(index),
      at,
    ]),
  );
  return {
    shard: data.shard as number,
    ref: snapshot.ref,
    updateTime: snapshot.updateTime,
    folded: data.folded === true,
    metrics,
    rebuilt,
  };
}

/** Reads every shard of a device-day (one query: one read, or one per shard). */
export async function readDay(
  db: Firestore,
  collection: string,
  key: DayKey,
): Promise<{ day: DayRollup; reads: number }> {
  const snapshot = await db
    .collection(collection)
    .where("tenant_id", "==", key.tenant)
    .where("device_id", "==", key.device)
    .where("day_ms", "==", key.day)
    .get();
  const shards = snapshot.docs.map(decodeDayShard).sort((a, b) => a.shard - b.shard);
  return { day: { ...key, shards }, reads: Math.max(1, snapshot.size) };
}

/** Cells of a device-day: what a query folds into buckets. */
export function* dayCells(day: { day: number; shards: readonly DayShard[] }) {
  for (const shard of day.shards) {
    for (const [metric, slots] of shard.metrics) {
      for (const [index, stats] of slots) yield { start_ms: day.day + index * SLOT_MS, metric, stats };
    }
  }
}

/** A change to a device-day: cells to set (stats) or remove (null), and slots recomputed at a time. */
export interface DayChange {
  cells: Map<string, Map<number, RollupStats | null>>;
  rebuilt?: Map<number, Timestamp>;
  /** Replace every cell of the day by `cells` (a rebuild): cells not named are removed. */
  replaceAll?: boolean;
}

/**
 * The writes that turn `day` into `day + change`, each conditional on the shard being as read (or
 * absent), plus the day as it will be once they commit. A metric stays in its shard; a new one goes to
 * the first shard with room.
 */
export function planDayWrite(
  day: DayRollup,
  change: DayChange,
  collection: (id: string) => DocumentReference,
  now: number,
): { writes: DocumentWrite[]; next: DayRollup } {
  const shards = day.shards.map((shard) => ({
    ...shard,
    metrics: new Map([...shard.metrics].map(([name, slots]) => [name, new Map(slots)])),
    rebuilt: new Map(shard.rebuilt),
  }));
  const shardOf = new Map<string, DayShard>();
  for (const shard of shards) for (const name of shard.metrics.keys()) shardOf.set(name, shard);
  const touched = new Map<DayShard, Map<string, Set<number> | "all">>();
  const touch = (shard: DayShard, metric: string, index: number | "all") => {
    let metrics = touched.get(shard);
    if (!metrics) {
      metrics = new Map();
      touched.set(shard, metrics);
    }
    if (index === "all") metrics.set(metric, "all");
    else {
      const held = metrics.get(metric);
      if (held === "all") return;
      const indexes = held ?? new Set<number>();
      indexes.add(index);
      metrics.set(metric, indexes);
    }
  };
  if (change.replaceAll) {
    for (const shard of shards) {
      for (const name of shard.metrics.keys()) if (!change.cells.has(name)) touch(shard, name, "all");
      shard.metrics.clear();
      shard.rebuilt.clear();
      touched.set(shard, touched.get(shard) ?? new Map());
    }
  }
  for (const [metric, slots] of change.cells) {
    let shard = shardOf.get(metric);
    if (!shard) {
      shard = shards.find((candidate) => candidate.metrics.size < METRICS_PER_SHARD);
      if (!shard) {
        const index = shards.length;
        shard = {
          shard: index,
          ref: collection(dayShardId(day, index)),
          updateTime: null,
          folded: false,
          metrics: new Map(),
          rebuilt: new Map(),
        };
        shards.push(shard);
      }
      shardOf.set(metric, shard);
    }
    const held = shard.metrics.get(metric) ?? new Map<number, RollupStats>();
    for (const [index, stats] of slots) {
      if (stats) held.set(index, stats);
      else held.delete(index);
      touch(shard, metric, change.replaceAll ? "all" : index);
    }
    if (held.size > 0) shard.metrics.set(metric, held);
    else shard.metrics.delete(metric);
  }
  const rebuiltShards = new Set<DayShard>();
  if (change.rebuilt?.size) {
    // The read time of a recomputation matters to every metric of the slot: kept on every shard written.
    for (const shard of shards) {
      if (!touched.has(shard) && shard.updateTime === null) continue;
      for (const [index, at] of change.rebuilt) shard.rebuilt.set(index, at);
      rebuiltShards.add(shard);
      touched.set(shard, touched.get(shard) ?? new Map());
    }
  }

  const writes: DocumentWrite[] = [];
  for (const [shard, metrics] of touched) {
    const common = { written_ms: now, folded: false };
    if (shard.updateTime === null) {
      if (shard.metrics.size === 0) continue;
      writes.push({
        op: "create",
        ref: shard.ref,
        data: {
          tenant_id: day.tenant,
          device_id: day.device,
          day_ms: day.day,
          shard: shard.shard,
          expire_at: Timestamp.fromMillis(day.day + DAY_MS + ROLLUP_RETENTION_MS),
          ...common,
          m: encodeMetrics(shard.metrics),
          rebuilt: Object.fromEntries([...shard.rebuilt].map(([index, at]) => [String(index), at])),
        },
      });
      continue;
    }
    const fields: Array<readonly [FieldPath, unknown]> = [
      [new FieldPath("written_ms"), now],
      [new FieldPath("folded"), false],
    ];
    if (change.replaceAll) {
      fields.push([new FieldPath("m"), encodeMetrics(shard.metrics)]);
    } else {
      for (const [metric, indexes] of metrics) {
        const slots = shard.metrics.get(metric);
        if (indexes === "all" || !slots) {
          fields.push([new FieldPath("m", metric), slots ? encodeSlots(slots) : FieldValue.delete()]);
          continue;
        }
        for (const index of indexes) {
          const stats = slots.get(index);
          fields.push([
            new FieldPath("m", metric, String(index)),
            stats ? encodeStats(stats) : FieldValue.delete(),
          ]);
        }
      }
    }
    if (change.replaceAll || rebuiltShards.has(shard)) {
      fields.push([
        new FieldPath("rebuilt"),
        Object.fromEntries([...shard.rebuilt].map(([index, at]) => [String(index), at])),
      ]);
    }
    writes.push({ op: "update", ref: shard.ref, fields, lastUpdateTime: shard.updateTime });
  }
  return { writes, next: { ...day, shards } };
}

/** The day once `planDayWrite`'s writes committed at `commitTime`. */
export function committedDay(
  planned: DayRollup,
  writes: readonly DocumentWrite[],
  commitTime: Timestamp,
): DayRollup {
  const written = new Set(writes.map((write) => write.ref.path));
  return {
    ...planned,
    shards: planned.shards
      .filter((shard) => shard.updateTime !== null || written.has(shard.ref.path))
      .map((shard) =>
        written.has(shard.ref.path) ? { ...shard, updateTime: commitTime, folded: false } : shard,
      ),
  };
}

function encodeSlots(slots: Map<number, RollupStats>): DocumentData {
  return Object.fromEntries([...slots].map(([index, stats]) => [String(index), encodeStats(stats)]));
}

function encodeMetrics(metrics: Map<string, Map<number, RollupStats>>): DocumentData {
  return Object.fromEntries([...metrics].map(([name, slots]) => [name, encodeSlots(slots)]));
}
