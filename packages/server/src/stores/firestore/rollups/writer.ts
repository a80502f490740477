import { classifyFirestoreFailure, grpcStatusOf } from "@firebrick/lock/firestore";
import {
  type CollectionReference,
  type DocumentData,
  type DocumentReference,
  FieldPath,
  FieldValue,
  Timestamp,
} from "@google-cloud/firestore";
import { BoundedMap } from "../../../bounded-map.js";
import { sha256 } from "../../keys.js";
import { DAY_MS, SLOT_MS, slotOf, utcDayOf } from "../../rollups/buckets.js";
import { slotStatsOf } from "../../rollups/slots.js";
import { combineStats, type RollupStats } from "../../rollups/stats.js";
import { type NewPoint, StoreUnavailableError } from "../../types.js";
import { type FirestoreContext, recordFirestore } from "../context.js";
import type { DocumentWrite, GroupCommitter } from "../group-commit.js";
import {
  committedDay,
  type DayChange,
  type DayKey,
  type DayRollup,
  dayKeyString,
  planDayWrite,
  readDay,
  SLOTS_PER_DAY,
  slotIndex,
} from "./day-documents.js";
import { readRawPoints } from "./raw-points.js";

/** A device-day's cells: metric → slot index → stats. */
export type DayCells = Map<string, Map<number, RollupStats>>;

/** Rollup updates of points already committed, not yet in the day document (a fast device's). */
export interface HeldBack {
  commitTime: Timestamp;
  cells: DayCells;
  /**
   * While a flush writes this update: resolves with that commit's time (null if it failed). A query
   * that read the day document at or after that time has it already.
   */
  flushing?: Promise<Timestamp | null>;
}

/**
 * This instance's durable promise to write a device-day's held-back updates (docs/design/trends.md): an
 * intent document, written in the same commit as the first points it covers, naming their slots. It is
 * deleted in the commit that writes the last held-back update; one left behind by a crash lapses at
 * `until_ms`, and the maintenance job then recomputes its slots from the raw points.
 */
interface Intent {
  state: "absent" | "live" | "deleting";
  slots: Set<number>;
  until: number;
  /** Bumped when an intent must be left to lapse (an outcome unknown): the next one is a new document. */
  generation: number;
}

interface HeldDay {
  key: DayKey;
  entries: HeldBack[];
  intent: Intent;
  /** Commits of held-back points still out: their intent must not be deleted under them. */
  inFlight: number;
  timer: NodeJS.Timeout | null;
  failures: number;
}

export interface RollupWriterOptions {
  /** Where points are written (`telemetry`), rollups (`telemetry_rollups`), intents. */
  telemetry: CollectionReference;
  rollups: CollectionReference;
  intents: CollectionReference;
  /** The telemetry document of a point (`stores/firestore/telemetry.ts` owns its shape). */
  pointDocument(
    tenant: string,
    device: string,
    point: NewPoint,
  ): { ref: DocumentReference; data: DocumentData };
  /** Least time between two writes of one day document by this instance (Firestore: ~1 write/s/document). */
  minWriteIntervalMs?: number;
  /** How long an intent promises its updates for; renewed while the device stays fast. */
  intentLeaseMs?: number;
  /** Names this process in its intents. */
  instance: string;
  /** Device-days whose document this instance remembers (to write without reading it first). */
  maxCachedDays?: number;
  /** Held-back updates allowed before writes are refused (503): Firestore is not keeping up. */
  maxHeldBack?: number;
  onError?: (error: unknown) => void;
}

/** Points per commit: room is left for the day's shard documents and an intent (500 writes a commit). */
const POINTS_PER_COMMIT = 480;
/** Slots whose stats a cached day keeps per metric: in-order devices only ever touch the newest. */
const CACHED_SLOTS_PER_METRIC = 3;
const MAX_ATTEMPTS = 5;

/**
 * Keeps the five-minute rollups of Firestore telemetry exact as points arrive (docs/design/trends.md).
 *
 * - **The usual case** (a device writes less than once a second): the request's points are created and
 *   its day document updated in **one commit**: the rollup can never disagree with the points, a crash
 *   loses both or neither. The update is computed from the document as this instance last wrote it
 *   (no read) and is conditional on its update time, so a write by another instance meanwhile makes it
 *   fail and be recomputed from a fresh read: exact in a fleet.
 * - **A fast device** (the demo's 600 points a minute): its points are committed at once, with an intent
 *   document the first time; their rollup updates are held back, merged, and written at most once a
 *   second per day document, with the intent's deletion. A crash leaves the intent, whose slots are then
 *   recomputed from raw points.
 * - **A point written again** (a retry, a re-run backfill, a correction): points are created, never
 *   blindly set, so a rewrite fails the commit (ALREADY_EXISTS) and takes the slow path: the points are
 *   read, identical ones skipped, and each slot with a changed point recomputed from its raw points
 *   (a replaced minimum cannot be subtracted) at a read time the slot records, so that updates held back
 *   for points the recomputation already saw are not added twice.
 */
export class FirestoreRollupWriter {
  readonly #context: FirestoreContext;
  readonly #commits: GroupCommitter;
  readonly #options: Required<Omit<RollupWriterOptions, "onError">> & Pick<RollupWriterOptions, "onError">;
  readonly #days: BoundedMap<string, { day: DayRollup; present: Map<string, Uint8Array> }>;
  readonly #lastWrite: BoundedMap<string, number>;
  readonly #held = new Map<string, HeldDay>();
  /** Days with a rollup write of this instance under way, and who waits for them. */
  readonly #busy = new Map<string, Array<() => void>>();
  #heldCount = 0;

  constructor(context: FirestoreContext, commits: GroupCommitter, options: RollupWriterOptions) {
    this.#context = context;
    this.#commits = commits;
    this.#options = {
      minWriteIntervalMs: 1000,
      intentLeaseMs: 5 * 60_000,
      maxCachedDays: 10_000,
      maxHeldBack: 50_000,
      ...options,
    };
    this.#days = new BoundedMap(this.#options.maxCachedDays);
    this.#lastWrite = new BoundedMap(this.#options.maxCachedDays);
  }

  /** Writes a device's distinct points and their rollups. */
  async append(tenant: string, device: string, points: readonly NewPoint[]): Promise<void> {
    const byDay = new Map<number, NewPoint[]>();
    for (const point of points) {
      const day = utcDayOf(point.timestamp_ms);
      const list = byDay.get(day) ?? [];
      list.push(point);
      byDay.set(day, list);
    }
    for (const [day, dayPoints] of byDay) {
      for (let start = 0; start < dayPoints.length; start += POINTS_PER_COMMIT) {
        await this.#appendChunk({ tenant, device, day }, dayPoints.slice(start, start + POINTS_PER_COMMIT));
      }
    }
  }

  /** Writes every held-back update now, whatever the interval. */
  async flush(): Promise<void> {
    const keys = [...this.#held.keys()];
    await Promise.all(keys.map((key) => this.#flushDay(key, true)));
  }

  /** The days of a device that have held-back updates on this instance. */
  heldBackDays(tenant: string, device: string): number[] {
    return [...this.#held.values()]
      .filter((held) => held.key.tenant === tenant && held.key.device === device && held.entries.length > 0)
      .map((held) => held.key.day);
  }

  /** Held-back cells of a device-day with their commit times: a query adds them to what it read. */
  heldBack(key: DayKey): ReadonlyArray<HeldBack> {
    return this.#held.get(dayKeyString(key))?.entries ?? [];
  }

  /**
   * Recomputes slots of a device-day from its raw points (the whole day when `indexes` is "day"), each
   * at the read time of its query, with `extra` writes in the same commit (an intent to delete).
   * Conditional on the day document as read: retried on a concurrent write.
   */
  async recompute(
    key: DayKey,
    indexes: Iterable<number> | "day",
    extra: DocumentWrite[] = [],
  ): Promise<{ points: number }> {
    const k = dayKeyString(key);
    const wanted = indexes === "day" ? null : [...new Set(indexes)].sort((a, b) => a - b);
    for (let attempt = 1; ; attempt++) {
      await this.#acquire(k);
      let reads = 0;
      let writes = 0;
      try {
        const { day, reads: dayReads } = await readDay(this.#context.db, this.#options.rollups.id, key);
        reads += dayReads;
        const ranges = wanted
          ? wanted.map((index) => [key.day + index * SLOT_MS, key.day + (index + 1) * SLOT_MS] as const)
          : [[key.day, key.day + DAY_MS] as const];
        const cells: DayCells = new Map();
        const rebuilt = new Map<number, Timestamp>();
        let points = 0;
        for (const [from, to] of ranges) {
          const raw = await readRawPoints(this.#options.telemetry, key.tenant, key.device, from, to);
          reads += raw.reads;
          for (const chunk of raw.chunks) {
            points += chunk.points.length;
            for (let slot = chunk.from; slot < chunk.to; slot += SLOT_MS) {
              rebuilt.set(slotIndex(key.day, slot), chunk.readTime);
            }
            mergeCells(cells, key.day, slotStatsOf(chunk.points));
          }
        }
        const change: DayChange = wanted
          ? { cells: replacing(day, cells, new Set(wanted)), rebuilt }
          : { cells, rebuilt, replaceAll: true };
        const plan = planDayWrite(day, change, (id) => this.#options.rollups.doc(id), this.#context.clock());
        const all = [...plan.writes, ...extra];
        if (all.length > 0) {
          const commitTime = await this.#commits.commit(all);
          writes += all.length;
          this.#remember(k, committedDay(plan.next, plan.writes, commitTime));
        }
        return { points };
      } catch (error) {
        this.#days.delete(k);
        if (grpcStatusOf(error) !== "FAILED_PRECONDITION" || attempt >= MAX_ATTEMPTS) throw error;
      } finally {
        recordFirestore(this.#context, "rollups", reads, writes);
        this.#release(k);
      }
    }
  }

  async #appendChunk(key: DayKey, points: NewPoint[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#commitNew(key, points);
        return;
      } catch (error) {
        const status = grpcStatusOf(error);
        if (status === "ALREADY_EXISTS") {
          await this.#rewrite(key, points);
          return;
        }
        // Another instance wrote the day document since this one last did: recomputed from a fresh read.
        if (status !== "FAILED_PRECONDITION" || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  #isCool(k: string): boolean {
    const last = this.#lastWrite.peek(k);
    return (
      !this.#busy.has(k) &&
      !this.#held.has(k) &&
      (last === undefined || this.#context.clock() - last >= this.#options.minWriteIntervalMs)
    );
  }

  async #commitNew(key: DayKey, points: NewPoint[]): Promise<void> {
    const k = dayKeyString(key);
    const pointWrites: DocumentWrite[] = points.map((point) => ({
      op: "create",
      ...this.#options.pointDocument(key.tenant, key.device, point),
    }));
    const cells: DayCells = new Map();
    mergeCells(cells, key.day, slotStatsOf(points));
    if (this.#isCool(k)) {
      this.#busy.set(k, []);
      let reads = 0;
      let writes = 0;
      try {
        const { day, reads: dayReads } = await this.#dayFor(key, cells);
        reads += dayReads;
        writes += await this.#commitWithDay(k, day, { cells: adding(day, cells) }, pointWrites);
      } finally {
        recordFirestore(this.#context, "rollups", reads, writes);
        this.#release(k);
      }
      return;
    }
    await this.#holdBack(key, k, pointWrites, cells);
  }

  /** The day document's update for held-back entries: their cells, but for slots recomputed since. */
  async #planFlush(key: DayKey, entries: readonly HeldBack[]) {
    const wanted: DayCells = new Map();
    for (const entry of entries) {
      for (const [metric, slots] of entry.cells)
        for (const [index, stats] of slots) addCell(wanted, metric, index, stats);
    }
    const { day, reads } = await this.#dayFor(key, wanted);
    const rebuilt = rebuiltTimes(day);
    const cells: DayCells = new Map();
    for (const entry of entries) {
      for (const [metric, slots] of entry.cells) {
        for (const [index, stats] of slots) {
          // Recomputed from raw points read after this entry's points were committed: already counted.
          const at = rebuilt.get(index);
          if (at && notAfter(entry.commitTime, at)) continue;
          addCell(cells, metric, index, stats);
        }
      }
    }
    const plan = planDayWrite(
      day,
      { cells: adding(day, cells) },
      (id) => this.#options.rollups.doc(id),
      this.#context.clock(),
    );
    return { ...plan, reads };
  }

  /**
   * Commits points with their day document's change in one commit; the cached day follows the commit
   * (or is forgotten when its outcome is not known). Returns the rollup writes.
   */
  async #commitWithDay(k: string, day: DayRollup, change: DayChange, pointWrites: DocumentWrite[]) {
    const plan = planDayWrite(day, change, (id) => this.#options.rollups.doc(id), this.#context.clock());
    let commitTime: Timestamp;
    try {
      commitTime = await this.#commits.commit([...pointWrites, ...plan.writes]);
    } catch (error) {
      this.#days.delete(k);
      throw error;
    }
    recordFirestore(this.#context, "telemetry", 0, pointWrites.length);
    this.#remember(k, committedDay(plan.next, plan.writes, commitTime));
    this.#lastWrite.set(k, this.#context.clock());
    return plan.writes.length;
  }

  /** A fast device's points: committed now (with an intent if needed), their rollup update held back. */
  async #holdBack(key: DayKey, k: string, pointWrites: DocumentWrite[], cells: DayCells): Promise<void> {
    if (this.#heldCount > this.#options.maxHeldBack) {
      throw new StoreUnavailableError("Firestore is not keeping up with rollup writes; retry later");
    }
    let held = this.#held.get(k);
    if (!held) {
      held = {
        key,
        entries: [],
        intent: { state: "absent", slots: new Set(), until: 0, generation: 0 },
        inFlight: 0,
        timer: null,
        failures: 0,
      };
      this.#held.set(k, held);
    }
    const now = this.#context.clock();
    const indexes = new Set<number>();
    for (const slots of cells.values()) for (const index of slots.keys()) indexes.add(index);
    const intent = held.intent;
    const renew =
      intent.state !== "live" ||
      [...indexes].some((index) => !intent.slots.has(index)) ||
      intent.until - now < this.#options.intentLeaseMs / 2;
    const until = now + this.#options.intentLeaseMs;
    const writes = [...pointWrites];
    if (renew) {
      writes.push({
        op: "set",
        merge: true,
        ref: this.#intentRef(key, intent.generation),
        data: {
          tenant_id: key.tenant,
          device_id: key.device,
          day_ms: key.day,
          instance: this.#options.instance,
          slots: FieldValue.arrayUnion(...indexes),
          until_ms: until,
          // Garbage collection only: a lapsed intent is repaired long before.
          expire_at: Timestamp.fromMillis(until + 7 * DAY_MS),
        },
      });
    }
    held.inFlight += 1;
    let commitTime: Timestamp;
    try {
      commitTime = await this.#commits.commit(writes);
    } catch (error) {
      // The points may have been written: leave this intent to lapse (its slots are then recomputed).
      if (classifyFirestoreFailure(error).retry === "if_idempotent") this.#abandonIntent(held);
      throw error;
    } finally {
      held.inFlight -= 1;
    }
    recordFirestore(this.#context, "telemetry", 0, pointWrites.length);
    if (renew) recordFirestore(this.#context, "rollups", 0, 1);
    // A deletion of the intent committed before this commit (the committer orders writes of one document).
    if (renew) {
      intent.state = "live";
      for (const index of indexes) intent.slots.add(index);
      intent.until = until;
    }
    held.entries.push({ commitTime, cells });
    this.#heldCount += 1;
    this.#schedule(k);
  }

  /** An intent whose held-back updates are lost to an unknown outcome: kept, to lapse and be repaired. */
  #abandonIntent(held: HeldDay): void {
    forgetIntent(held.intent);
    held.intent.generation += 1;
  }

  #intentRef(key: DayKey, generation: number): DocumentReference {
    const id = sha256(
      `rollup-intent\u0000${this.#options.instance}\u0000${generation}\u0000${dayKeyString(key)}`,
    ).slice(0, 40);
    return this.#options.intents.doc(id);
  }

  /**
   * Flushes the day's held-back updates once its document may be written again. `followUp`: also with
   * nothing held back, to delete a live intent once the device has gone quiet for an interval.
   */
  #schedule(k: string, followUp = false): void {
    const held = this.#held.get(k);
    if (!held || held.timer || this.#busy.has(k)) return;
    if (held.entries.length === 0 && !(followUp && held.intent.state === "live")) return;
    const last = this.#lastWrite.peek(k) ?? Number.NEGATIVE_INFINITY;
    const backoff = held.failures > 0 ? Math.min(30_000, 500 * 2 ** held.failures) : 0;
    const wait = Math.max(0, last + this.#options.minWriteIntervalMs - this.#context.clock(), backoff);
    held.timer = setTimeout(() => {
      held.timer = null;
      this.#flushDay(k, false).catch((error) => this.#options.onError?.(error));
    }, wait);
    held.timer.unref();
  }

  async #flushDay(k: string, force: boolean): Promise<void> {
    const held = this.#held.get(k);
    if (!held) return;
    if (held.timer && force) {
      clearTimeout(held.timer);
      held.timer = null;
    }
    if (force) await this.#acquire(k);
    else if (this.#busy.has(k)) return;
    else this.#busy.set(k, []);
    // The entries stay visible to queries until their update is written (see HeldBack.flushing).
    const entries = held.entries.slice();
    let settle: (commitTime: Timestamp | null) => void = () => {};
    const flushing = new Promise<Timestamp | null>((resolve) => {
      settle = resolve;
    });
    for (const entry of entries) entry.flushing = flushing;
    const done = () => {
      const flushed = new Set(entries);
      held.entries = held.entries.filter((entry) => !flushed.has(entry));
      this.#heldCount -= entries.length;
    };
    let deleting = false;
    let reads = 0;
    let writes = 0;
    try {
      // Nothing new for a whole interval (or a forced flush): only the intent is left to delete.
      if (entries.length === 0 && !(held.intent.state === "live" && held.inFlight === 0)) {
        settle(null);
        return;
      }
      // Only the intent to delete: the day document is neither read nor written.
      const plan = entries.length > 0 ? await this.#planFlush(held.key, entries) : null;
      reads += plan?.reads ?? 0;
      // The intent is kept while the device stays fast (one intent write per lease, not per flush), and
      // deleted by a flush that finds nothing new: the device has been quiet for an interval.
      deleting =
        held.intent.state === "live" &&
        held.inFlight === 0 &&
        held.entries.length === entries.length &&
        (force || entries.length === 0);
      if (deleting) held.intent.state = "deleting";
      const all: DocumentWrite[] = [
        ...(plan?.writes ?? []),
        ...(deleting
          ? [{ op: "delete" as const, ref: this.#intentRef(held.key, held.intent.generation) }]
          : []),
      ];
      let commitTime: Timestamp | null = null;
      if (all.length > 0) {
        commitTime = await this.#commits.commit(all);
        writes += all.length;
        if (plan && plan.writes.length > 0) {
          this.#remember(k, committedDay(plan.next, plan.writes, commitTime));
          this.#lastWrite.set(k, this.#context.clock());
        }
      }
      settle(commitTime);
      done();
      held.failures = 0;
      if (deleting && held.intent.state === "deleting") forgetIntent(held.intent);
    } catch (error) {
      this.#days.delete(k);
      settle(null);
      for (const entry of entries) delete entry.flushing;
      if (deleting && held.intent.state === "deleting") held.intent.state = "live";
      held.failures += 1;
      if (classifyFirestoreFailure(error).retry === "if_idempotent") {
        // The update may or may not have been written: its intent is left to lapse and be repaired.
        done();
        this.#abandonIntent(held);
      }
      throw error;
    } finally {
      recordFirestore(this.#context, "rollups", reads, writes);
      this.#release(k);
      if (held.entries.length === 0 && held.inFlight === 0 && held.intent.state === "absent" && !held.timer) {
        this.#held.delete(k);
      }
      if (!force) this.#schedule(k, true);
    }
  }

  /**
   * A written point again: read the points, skip identical ones, create new ones, rewrite changed ones
   * (each conditional on the point as read) and recompute their slots from raw points, in one commit.
   */
  async #rewrite(key: DayKey, points: NewPoint[]): Promise<void> {
    const k = dayKeyString(key);
    for (let attempt = 1; ; attempt++) {
      await this.#acquire(k);
      let reads = 0;
      let writes = 0;
      try {
        const documents = points.map((point) => this.#options.pointDocument(key.tenant, key.device, point));
        const snapshots = await this.#context.db.getAll(...documents.map((document) => document.ref));
        reads += snapshots.length;
        recordFirestore(this.#context, "telemetry", snapshots.length, 0);
        const created: NewPoint[] = [];
        const pointWrites: DocumentWrite[] = [];
        const changedSlots = new Set<number>();
        snapshots.forEach((snapshot, i) => {
          const point = points[i]!;
          const { ref, data } = documents[i]!;
          if (!snapshot.exists) {
            created.push(point);
            pointWrites.push({ op: "create", ref, data });
            return;
          }
          const stored = snapshot.get("metrics") as Record<string, number>;
          const same = sameReadings(stored, point.metrics);
          if (same && snapshot.get("source") === data.source) return;
          pointWrites.push({
            op: "update",
            ref,
            fields: [
              [new FieldPath("metrics"), data.metrics],
              [new FieldPath("source"), data.source],
            ],
            lastUpdateTime: snapshot.updateTime!,
          });
          if (!same) changedSlots.add(slotOf(point.timestamp_ms));
        });
        if (pointWrites.length === 0) return;
        const { day, reads: dayReads } = await readDay(this.#context.db, this.#options.rollups.id, key);
        reads += dayReads;
        const recomputed: DayCells = new Map();
        const rebuilt = new Map<number, Timestamp>();
        for (const slot of changedSlots) {
          const raw = await readRawPoints(
            this.#options.telemetry,
            key.tenant,
            key.device,
            slot,
            slot + SLOT_MS,
          );
          reads += raw.reads;
          const chunk = raw.chunks[0]!;
          // The slot as it will be: its stored points with this request's readings in place.
          const byTime = new Map(chunk.points.map((p) => [p.timestamp_ms, p.metrics]));
          for (const point of points)
            if (slotOf(point.timestamp_ms) === slot) byTime.set(point.timestamp_ms, point.metrics);
          mergeCells(
            recomputed,
            key.day,
            slotStatsOf([...byTime].map(([timestamp_ms, metrics]) => ({ timestamp_ms, metrics }))),
          );
          rebuilt.set(slotIndex(key.day, slot), chunk.readTime);
        }
        const added: DayCells = new Map();
        mergeCells(
          added,
          key.day,
          slotStatsOf(created.filter((point) => !changedSlots.has(slotOf(point.timestamp_ms)))),
        );
        const replaced = replacing(day, recomputed, new Set(rebuilt.keys()));
        for (const [metric, slots] of adding(day, added)) {
          for (const [index, stats] of slots) {
            const target = replaced.get(metric) ?? new Map();
            target.set(index, stats);
            replaced.set(metric, target);
          }
        }
        writes += await this.#commitWithDay(k, day, { cells: replaced, rebuilt }, pointWrites);
        return;
      } catch (error) {
        const status = grpcStatusOf(error);
        const raced = status === "FAILED_PRECONDITION" || status === "ALREADY_EXISTS";
        if (!raced || attempt >= MAX_ATTEMPTS) throw error;
      } finally {
        recordFirestore(this.#context, "rollups", reads, writes);
        this.#release(k);
      }
    }
  }

  /**
   * The day as this instance last wrote it, when that holds every cell `cells` touches; else read.
   * Either way the write that follows is conditional on the update time, so a stale copy only costs a retry.
   */
  async #dayFor(key: DayKey, cells: DayCells): Promise<{ day: DayRollup; reads: number }> {
    const k = dayKeyString(key);
    const cached = this.#days.get(k);
    if (cached && covers(cached, cells)) return { day: cached.day, reads: 0 };
    const read = await readDay(this.#context.db, this.#options.rollups.id, key);
    return read;
  }

  /** Keeps a day after a write, with only its newest slots' stats (and which slots exist). */
  #remember(k: string, day: DayRollup): void {
    const present = new Map<string, Uint8Array>();
    const shards = day.shards.map((shard) => {
      const metrics = new Map<string, Map<number, RollupStats>>();
      for (const [name, slots] of shard.metrics) {
        const bits = new Uint8Array(SLOTS_PER_DAY);
        for (const index of slots.keys()) bits[index] = 1;
        present.set(name, bits);
        const newest = [...slots.keys()].sort((a, b) => b - a).slice(0, CACHED_SLOTS_PER_METRIC);
        metrics.set(name, new Map(newest.map((index) => [index, slots.get(index)!])));
      }
      return { ...shard, metrics };
    });
    this.#days.set(k, { day: { ...day, shards }, present });
  }

  async #acquire(k: string): Promise<void> {
    while (this.#busy.has(k)) {
      await new Promise<void>((resolve) => this.#busy.get(k)!.push(resolve));
    }
    this.#busy.set(k, []);
  }

  #release(k: string): void {
    const waiting = this.#busy.get(k) ?? [];
    this.#busy.delete(k);
    for (const wake of waiting) wake();
    this.#schedule(k);
  }
}

function forgetIntent(intent: Intent): void {
  intent.state = "absent";
  intent.slots.clear();
  intent.until = 0;
}

/** Whether a cached day knows the stats of every cell that `cells` touches (absent ones included). */
function covers(cached: { day: DayRollup; present: Map<string, Uint8Array> }, cells: DayCells): boolean {
  for (const [metric, slots] of cells) {
    const bits = cached.present.get(metric);
    if (!bits) continue;
    const held = cached.day.shards.find((shard) => shard.metrics.has(metric))?.metrics.get(metric);
    for (const index of slots.keys()) if (bits[index] && !held?.has(index)) return false;
  }
  return true;
}

function addCell(cells: DayCells, metric: string, index: number, stats: RollupStats): void {
  let slots = cells.get(metric);
  if (!slots) {
    slots = new Map();
    cells.set(metric, slots);
  }
  const held = slots.get(index);
  slots.set(index, held ? combineStats(held, stats) : stats);
}

/** Adds slot rollups (by slot start) into day cells (by slot index). */
function mergeCells(cells: DayCells, day: number, slots: ReturnType<typeof slotStatsOf>): void {
  for (const [slot, metrics] of slots) {
    for (const [metric, stats] of metrics) addCell(cells, metric, slotIndex(day, slot), stats);
  }
}

/** The cells `day` holds once disjoint new points `cells` are added to it. */
function adding(day: DayRollup, cells: DayCells): DayChange["cells"] {
  const change: DayChange["cells"] = new Map();
  for (const [metric, slots] of cells) {
    const held = day.shards.find((shard) => shard.metrics.has(metric))?.metrics.get(metric);
    const out = new Map<number, RollupStats | null>();
    for (const [index, stats] of slots) {
      const old = held?.get(index);
      out.set(index, old ? combineStats(old, stats) : stats);
    }
    change.set(metric, out);
  }
  return change;
}

/** Cells that replace whole slots: the recomputed ones, and removal of metrics no longer in them. */
function replacing(day: DayRollup, cells: DayCells, indexes: ReadonlySet<number>): DayChange["cells"] {
  const change: DayChange["cells"] = new Map();
  for (const shard of day.shards) {
    for (const [metric, slots] of shard.metrics) {
      for (const index of slots.keys()) {
        if (!indexes.has(index)) continue;
        const out = change.get(metric) ?? new Map<number, RollupStats | null>();
        out.set(index, null);
        change.set(metric, out);
      }
    }
  }
  for (const [metric, slots] of cells) {
    const out = change.get(metric) ?? new Map<number, RollupStats | null>();
    for (const [index, stats] of slots) out.set(index, stats);
    change.set(metric, out);
  }
  return change;
}

/** The latest recomputation time of each slot, over every shard. */
export function rebuiltTimes(day: DayRollup): Map<number, Timestamp> {
  const times = new Map<number, Timestamp>();
  for (const shard of day.shards) {
    for (const [index, at] of shard.rebuilt) {
      const held = times.get(index);
      if (!held || notAfter(held, at)) times.set(index, at);
    }
  }
  return times;
}

/** Whether Firestore time `a` is at or before `b`. */
export function notAfter(a: Timestamp, b: Timestamp): boolean {
  return a.seconds < b.seconds || (a.seconds === b.seconds && a.nanoseconds <= b.nanoseconds);
}

function sameReadings(stored: Record<string, number> | undefined, metrics: Record<string, number>): boolean {
  if (!stored) return false;
  const names = Object.keys(stored);
  return (
    names.length === Object.keys(metrics).length && names.every((name) => stored[name] === metrics[name])
  );
}
