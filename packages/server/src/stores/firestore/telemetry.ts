import { randomUUID } from "node:crypto";
import { grpcStatusOf } from "@firebrick/lock/firestore";
import { type DocumentData, FieldPath, FieldValue, Timestamp } from "@google-cloud/firestore";
import { queryReads } from "../billing.js";
import { telemetryCursor, telemetryCursorTime } from "../cursor.js";
import { assertEpochMs, assertLimit, telemetryPointId } from "../keys.js";
import { distinctPoints } from "../points.js";
import { DAY_MS, utcDayOf } from "../rollups/buckets.js";
import {
  type NewPoint,
  type Page,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
  type TelemetryStore,
  type TenantId,
} from "../types.js";
import { type FirestoreContext, recordFirestore, withFirestore } from "./context.js";
import { GroupCommitter } from "./group-commit.js";
import { aggregateFromRollups } from "./rollups/reader.js";
import { FirestoreRollupWriter, type RollupWriterOptions } from "./rollups/writer.js";

// A batch holds at most 500 writes.
const BATCH_LIMIT = 500;

/**
 * `written_at` is Firestore's request time, a little before the commit time that decides when a query
 * sees the point (measured on the emulator: 6 ms). `changes` therefore asks for points written since the
 * previous query's read time less this margin: a point is sometimes read twice, never missed.
 */
export const WRITE_TIME_MARGIN_MS = 2000;

/** Tuning of the rollup writer (tests shorten its intervals). */
export type RollupTuning = Partial<
  Pick<RollupWriterOptions, "minWriteIntervalMs" | "intentLeaseMs" | "instance" | "onError">
>;

/** The telemetry document of a point: the fields of docs/design/stores.md. */
export function telemetryDocument(
  context: FirestoreContext,
  tenant: string,
  deviceId: string,
  point: NewPoint,
) {
  return {
    ref: context.db
      .collection(context.collections.telemetry)
      .doc(telemetryPointId(tenant, deviceId, point.timestamp_ms)),
    data: {
      tenant_id: tenant,
      device_id: deviceId,
      timestamp_ms: point.timestamp_ms,
      metrics: point.metrics,
      source: point.source ?? "api",
      expire_at: Timestamp.fromMillis(point.timestamp_ms + TELEMETRY_RETENTION_MS),
      // When it was written (created or overwritten): what caches on every instance ask for
      // (`changes`), through the composite index (tenant_id, device_id, written_at).
      written_at: FieldValue.serverTimestamp(),
    } as DocumentData,
  };
}

/** The rollup writer of a telemetry store, on the store's collections. */
export function rollupWriter(context: FirestoreContext, commits: GroupCommitter, tuning: RollupTuning = {}) {
  return new FirestoreRollupWriter(context, commits, {
    telemetry: context.db.collection(context.collections.telemetry),
    rollups: context.db.collection(context.collections.rollups),
    intents: context.db.collection(context.collections.rollup_intents),
    pointDocument: (tenant, deviceId, point) => telemetryDocument(context, tenant, deviceId, point),
    instance: tuning.instance ?? randomUUID(),
    ...tuning,
  });
}

function toPoint(data: DocumentData): TelemetryPoint {
  return {
    tenant_id: data.tenant_id as string,
    device_id: data.device_id as string,
    timestamp_ms: data.timestamp_ms as number,
    metrics: data.metrics as Record<string, number>,
    source: data.source as string,
  };
}

export function createFirestoreTelemetryStore(
  context: FirestoreContext,
  tuning: RollupTuning = {},
): TelemetryStore {
  const telemetry = context.db.collection(context.collections.telemetry);
  const commits = new GroupCommitter(context.db, {
    maxWrites: BATCH_LIMIT,
    ...(context.commits && { onCommit: (documents: number) => context.commits!.committed(documents) }),
  });
  context.commits?.queue(() => commits.queuedWrites);
  // Rollups are kept by the store's append, so that the API and the backfill both keep them.
  const rollups = rollupWriter(context, commits, tuning);
  const rollupCollections = {
    rollups: context.db.collection(context.collections.rollups),
    months: context.db.collection(context.collections.rollup_months),
  };

  /**
   * The device's points, newest first, in the order of the composite index
   * (tenant_id asc, device_id asc, timestamp_ms desc), whose implicit last key is `__name__` desc.
   * The lower bound drops points past retention: TTL deletion lags up to a day behind `expire_at`.
   */
  const newestFirst = (tenant: TenantId, deviceId: string, from: number) =>
    telemetry
      .where("tenant_id", "==", tenant)
      .where("device_id", "==", deviceId)
      .where("timestamp_ms", ">=", Math.max(from, context.clock() - TELEMETRY_RETENTION_MS + 1))
      .orderBy("timestamp_ms", "desc");

  return {
    async append(tenant: TenantId, deviceId: string, points: NewPoint[]): Promise<{ written: number }> {
      const distinct = distinctPoints(points);
      // Points and their rollups, exact (stores/firestore/rollups/writer.ts); the writer counts its writes.
      await withFirestore(() => rollups.append(tenant, deviceId, distinct));
      return { written: distinct.length };
    },

    async latest(tenant: TenantId, deviceId: string, limit: number): Promise<TelemetryPoint[]> {
      assertLimit(limit);
      const snapshot = await withFirestore(() =>
        newestFirst(tenant, deviceId, Number.MIN_SAFE_INTEGER).limit(limit).get(),
      );
      recordFirestore(context, "telemetry", queryReads(snapshot.size), 0);
      return snapshot.docs.map((doc) => toPoint(doc.data()));
    },

    async window(tenant, deviceId, query): Promise<Page<TelemetryPoint>> {
      assertLimit(query.limit);
      assertEpochMs(query.from, "from");
      assertEpochMs(query.to, "to");
      const from = Math.max(query.from, context.clock() - TELEMETRY_RETENTION_MS + 1);
      let firestoreQuery = newestFirst(tenant, deviceId, from)
        .where("timestamp_ms", "<", query.to)
        .orderBy(FieldPath.documentId(), "desc");
      if (query.cursor) {
        const t = telemetryCursorTime(tenant, deviceId, query.cursor);
        firestoreQuery = firestoreQuery.startAfter(t, telemetryPointId(tenant, deviceId, t));
      }
      if (from >= query.to) {
        recordFirestore(context, "telemetry", 0, 0);
        return { items: [], next_cursor: null };
      }
      const snapshot = await withFirestore(() => firestoreQuery.limit(query.limit).get());
      recordFirestore(context, "telemetry", queryReads(snapshot.size), 0);
      const items = snapshot.docs.map((doc) => toPoint(doc.data()));
      const last = snapshot.docs.at(-1);
      return {
        items,
        next_cursor:
          items.length === query.limit && last
            ? telemetryCursor(tenant, deviceId, last.get("timestamp_ms") as number)
            : null,
      };
    },

    async windowAscending(tenant, deviceId, query): Promise<Page<TelemetryPoint>> {
      assertLimit(query.limit);
      assertEpochMs(query.from, "from");
      assertEpochMs(query.to, "to");
      let from = Math.max(query.from, context.clock() - TELEMETRY_RETENTION_MS + 1);
      if (query.cursor) from = Math.max(from, telemetryCursorTime(tenant, deviceId, query.cursor) + 1);
      if (from >= query.to) {
        recordFirestore(context, "telemetry", 0, 0);
        return { items: [], next_cursor: null };
      }
      // Served by the ascending index (tenant_id, device_id, timestamp_ms asc); a point's timestamp is
      // unique per device, so the cursor's timestamp alone says where the next page starts.
      const snapshot = await withFirestore(() =>
        telemetry
          .where("tenant_id", "==", tenant)
          .where("device_id", "==", deviceId)
          .where("timestamp_ms", ">=", from)
          .where("timestamp_ms", "<", query.to)
          .orderBy("timestamp_ms", "asc")
          .limit(query.limit)
          .get(),
      );
      recordFirestore(context, "telemetry", queryReads(snapshot.size), 0);
      const items = snapshot.docs.map((doc) => toPoint(doc.data()));
      const last = items.at(-1);
      return {
        items,
        next_cursor:
          items.length === query.limit && last ? telemetryCursor(tenant, deviceId, last.timestamp_ms) : null,
      };
    },

    async changes(tenant, deviceId, since, limit) {
      assertLimit(limit);
      const from = since === null ? null : markTime(since);
      if (from) {
        const margin = context.writeTimeMarginMs ?? WRITE_TIME_MARGIN_MS;
        // One more than asked for: more changes than that, and the newest points are read instead.
        const snapshot = await withFirestore(() =>
          telemetry
            .where("tenant_id", "==", tenant)
            .where("device_id", "==", deviceId)
            .where("written_at", ">", Timestamp.fromMillis(from.toMillis() - margin))
            .orderBy("written_at")
            .limit(limit + 1)
            .get(),
        ).catch((error: unknown) => {
          // The (tenant_id, device_id, written_at) index not deployed yet (an upgrade before
          // `firebrick indexes deploy`): the newest points are read instead, which costs more, not less.
          if (grpcStatusOf(error) === "FAILED_PRECONDITION") return null;
          throw error;
        });
        if (snapshot) recordFirestore(context, "telemetry", queryReads(snapshot.size), 0);
        if (snapshot && snapshot.size <= limit) {
          const oldest = context.clock() - TELEMETRY_RETENTION_MS;
          return {
            points: snapshot.docs.map((doc) => toPoint(doc.data())).filter((p) => p.timestamp_ms > oldest),
            mark: markOf(snapshot.readTime),
            reset: false,
          };
        }
      }
      const snapshot = await withFirestore(() =>
        newestFirst(tenant, deviceId, Number.MIN_SAFE_INTEGER).limit(limit).get(),
      );
      recordFirestore(context, "telemetry", queryReads(snapshot.size), 0);
      return {
        points: snapshot.docs.map((doc) => toPoint(doc.data())),
        mark: markOf(snapshot.readTime),
        reset: true,
      };
    },

    aggregate: (tenant, deviceId, query) =>
      aggregateFromRollups(context, rollupCollections, rollups, tenant, deviceId, query),

    async rebuildRollups(tenant, deviceId, range) {
      assertEpochMs(range.from, "from");
      assertEpochMs(range.to, "to");
      // Only days whose every point is still kept: an older day's rollups are all that is left of it,
      // and are only marked for folding again (the month documents of the tenant's current zone).
      const oldestWhole = context.clock() - TELEMETRY_RETENTION_MS;
      let days = 0;
      let points = 0;
      for (let day = utcDayOf(range.from); day < range.to; day += DAY_MS) {
        days += 1;
        const key = { tenant, device: deviceId, day };
        if (day >= oldestWhole) {
          points += (await withFirestore(() => rollups.recompute(key, "day"))).points;
          continue;
        }
        const shards = await withFirestore(() =>
          rollupCollections.rollups
            .where("tenant_id", "==", tenant)
            .where("device_id", "==", deviceId)
            .where("day_ms", "==", day)
            .get(),
        );
        recordFirestore(context, "rollups", queryReads(shards.size), shards.size);
        if (shards.size > 0) {
          const batch = context.db.batch();
          for (const shard of shards.docs) batch.update(shard.ref, { folded: false });
          await withFirestore(() => batch.commit());
        }
      }
      return { days, points };
    },

    flush: () => withFirestore(() => rollups.flush()),
  };
}

/** A query's read time as a `changes` mark: everything committed until then, it has seen. */
function markOf(readTime: Timestamp): string {
  return `firestore:${readTime.toMillis()}`;
}

function markTime(mark: string): Timestamp | null {
  const match = /^firestore:(\d{1,16})$/.exec(mark);
  return match ? Timestamp.fromMillis(Number(match[1])) : null;
}
