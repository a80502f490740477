import { queryReads } from "../billing.js";
import { telemetryCursor, telemetryCursorTime } from "../cursor.js";
import { assertEpochMs, assertLimit } from "../keys.js";
import { distinctPoints } from "../points.js";
import { assembleBuckets } from "../rollups/assemble.js";
import { bucketBoundaries, DAY_MS, SLOT_MS, slotOf, utcDayOf } from "../rollups/buckets.js";
import { slotStatsOf } from "../rollups/slots.js";
import {
  type NewPoint,
  type Page,
  ROLLUP_RETENTION_MS,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
  type TelemetryStore,
  type TenantId,
} from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";
import { SqliteGroupCommit } from "./group-commit.js";
import { SqliteRollups } from "./rollups.js";

interface PointRow {
  tenant_id: string;
  device_id: string;
  timestamp_ms: number;
  metrics: string;
  source: string;
}

const COLUMNS = "tenant_id, device_id, timestamp_ms, metrics, source";

/** Trend intervals whose buckets hold whole hour cells (rollup-compaction.ts). */
const HOUR_OR_COARSER: ReadonlySet<string> = new Set(["1h", "1d"]);

function toPoint(row: PointRow): TelemetryPoint {
  return { ...row, metrics: JSON.parse(row.metrics) as Record<string, number> };
}

/** Whether a stored point's metrics (JSON) are the ones a rewrite brings: then its rollups stand. */
function sameMetrics(stored: string, serialised: string, metrics: Record<string, number>): boolean {
  if (stored === serialised) return true;
  const old = JSON.parse(stored) as Record<string, number>;
  const names = Object.keys(old);
  return names.length === Object.keys(metrics).length && names.every((name) => old[name] === metrics[name]);
}

export function createSqliteTelemetryStore(
  context: SqliteContext,
  commits: SqliteGroupCommit = new SqliteGroupCommit(context.db),
): TelemetryStore {
  const { db } = context;
  const rollups = new SqliteRollups(db);
  // A new point is inserted; an existing one is rewritten, and its slot's rollups recomputed if its
  // readings changed (a replaced minimum cannot be subtracted).
  const insertNew = db.prepare(
    `INSERT INTO telemetry (${COLUMNS}, expire_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const storedMetrics = db
    .prepare<[string, string, number], string>(
      "SELECT metrics FROM telemetry WHERE tenant_id = ? AND device_id = ? AND timestamp_ms = ?",
    )
    .pluck();
  const rewrite = db.prepare(
    "UPDATE telemetry SET metrics = ?, source = ? WHERE tenant_id = ? AND device_id = ? AND timestamp_ms = ?",
  );
  // Every read bounds timestamp_ms from below by the retention cutoff: rows past `expire_at` are gone
  // to the reader even before anything deletes them.
  const newestFirst = db.prepare<[string, string, number, number, number], PointRow>(
    `SELECT ${COLUMNS} FROM telemetry
     WHERE tenant_id = ? AND device_id = ? AND timestamp_ms >= ? AND timestamp_ms < ?
     ORDER BY timestamp_ms DESC LIMIT ?`,
  );
  /** This connection's own telemetry commits, which `PRAGMA data_version` does not report to it. */
  let ownCommits = 0;
  const oldestFirst = db.prepare<[string, string, number, number, number], PointRow>(
    `SELECT ${COLUMNS} FROM telemetry
     WHERE tenant_id = ? AND device_id = ? AND timestamp_ms >= ? AND timestamp_ms < ?
     ORDER BY timestamp_ms ASC LIMIT ?`,
  );
  const oldestKept = () => context.clock() - TELEMETRY_RETENTION_MS + 1;

  return {
    async append(tenant: TenantId, deviceId: string, points: NewPoint[]): Promise<{ written: number }> {
      const distinct = distinctPoints(points);
      // Serialised before the transaction, which then only inserts.
      const metrics = distinct.map((point) => JSON.stringify(point.metrics));
      let rollupReads = 0;
      let rollupWrites = 0;
      // Concurrent appends (many devices) share transactions; each append is still all-or-nothing, its
      // rollups included.
      await commits.write(distinct.length, () => {
        const added: NewPoint[] = [];
        const changedSlots = new Set<number>();
        for (let i = 0; i < distinct.length; i++) {
          const point = distinct[i]!;
          const t = point.timestamp_ms;
          const source = point.source ?? "api";
          if (insertNew.run(tenant, deviceId, t, metrics[i], source, t + TELEMETRY_RETENTION_MS).changes) {
            added.push(point);
            continue;
          }
          const stored = storedMetrics.get(tenant, deviceId, t)!;
          rollupReads += 1;
          rewrite.run(metrics[i], source, tenant, deviceId, t);
          if (!sameMetrics(stored, metrics[i]!, point.metrics)) changedSlots.add(slotOf(t));
        }
        // Points new to a slot that is recomputed anyway are counted by the recomputation.
        const fresh = changedSlots.size
          ? added.filter((p) => !changedSlots.has(slotOf(p.timestamp_ms)))
          : added;
        rollupWrites += rollups.add(tenant, deviceId, slotStatsOf(fresh));
        for (const slot of changedSlots) {
          rollupReads += rollups.recompute(tenant, deviceId, slot, slot + SLOT_MS);
          rollupWrites += 1;
        }
      });
      ownCommits++;
      recordSqlite(context, "telemetry", 0, distinct.length);
      recordSqlite(context, "rollups", rollupReads, rollupWrites);
      return { written: distinct.length };
    },

    async latest(tenant: TenantId, deviceId: string, limit: number): Promise<TelemetryPoint[]> {
      assertLimit(limit);
      const rows = withSqlite(() =>
        newestFirst.all(tenant, deviceId, oldestKept(), Number.MAX_SAFE_INTEGER, limit),
      );
      recordSqlite(context, "telemetry", queryReads(rows.length), 0);
      return rows.map(toPoint);
    },

    async window(tenant, deviceId, query): Promise<Page<TelemetryPoint>> {
      assertLimit(query.limit);
      assertEpochMs(query.from, "from");
      assertEpochMs(query.to, "to");
      let to = query.to;
      // The primary key makes timestamp_ms unique per device, so "after the cursor" is "< t".
      if (query.cursor) to = Math.min(to, telemetryCursorTime(tenant, deviceId, query.cursor));
      const from = Math.max(query.from, oldestKept());
      if (from >= to) {
        recordSqlite(context, "telemetry", 0, 0);
        return { items: [], next_cursor: null };
      }
      const rows = withSqlite(() => newestFirst.all(tenant, deviceId, from, to, query.limit));
      recordSqlite(context, "telemetry", queryReads(rows.length), 0);
      const last = rows.at(-1);
      return {
        items: rows.map(toPoint),
        next_cursor:
          rows.length === query.limit && last ? telemetryCursor(tenant, deviceId, last.timestamp_ms) : null,
      };
    },

    async windowAscending(tenant, deviceId, query): Promise<Page<TelemetryPoint>> {
      assertLimit(query.limit);
      assertEpochMs(query.from, "from");
      assertEpochMs(query.to, "to");
      let from = Math.max(query.from, oldestKept());
      if (query.cursor) from = Math.max(from, telemetryCursorTime(tenant, deviceId, query.cursor) + 1);
      if (from >= query.to) {
        recordSqlite(context, "telemetry", 0, 0);
        return { items: [], next_cursor: null };
      }
      const rows = withSqlite(() => oldestFirst.all(tenant, deviceId, from, query.to, query.limit));
      recordSqlite(context, "telemetry", queryReads(rows.length), 0);
      const last = rows.at(-1);
      return {
        items: rows.map(toPoint),
        next_cursor:
          rows.length === query.limit && last ? telemetryCursor(tenant, deviceId, last.timestamp_ms) : null,
      };
    },

    // SQLite cannot say which points changed without an index per write (which ingest would pay for);
    // it can say whether anything changed at all, for nothing: `data_version` moves when another
    // connection (another process sharing the file) commits, `ownCommits` when this one did. Then the
    // newest points are read again, which on SQLite is one short range of the primary key.
    async changes(tenant, deviceId, since, limit) {
      assertLimit(limit);
      const mark = `sqlite:${db.pragma("data_version", { simple: true }) as number}:${ownCommits}`;
      if (since === mark) {
        recordSqlite(context, "telemetry", 0, 0);
        return { points: [], mark, reset: false };
      }
      const rows = withSqlite(() =>
        newestFirst.all(tenant, deviceId, oldestKept(), Number.MAX_SAFE_INTEGER, limit),
      );
      recordSqlite(context, "telemetry", queryReads(rows.length), 0);
      return { points: rows.map(toPoint), mark, reset: true };
    },

    async aggregate(tenant, deviceId, query) {
      const boundaries = bucketBoundaries(query);
      // Rollups past their retention are gone to the reader even before the retention job deletes them.
      const from = Math.max(boundaries[0]!, slotOf(context.clock() - ROLLUP_RETENTION_MS) + SLOT_MS);
      const to = boundaries.at(-1)!;
      const rows = withSqlite(() => rollups.rows(tenant, deviceId, from, to));
      // Slots past raw retention are hour cells (rollup-compaction.ts): they lie inside hour and day
      // buckets, not inside finer ones, which are then left out for those hours.
      const hours = HOUR_OR_COARSER.has(query.interval)
        ? withSqlite(() => rollups.hourRows(tenant, deviceId, from, to))
        : [];
      recordSqlite(
        context,
        "rollups",
        queryReads(rows.length) + (hours.length && queryReads(hours.length)),
        0,
      );
      const cells = [...rows, ...hours].map(({ slot_ms, metric, ...stats }) => ({
        start_ms: slot_ms,
        metric,
        stats,
      }));
      return assembleBuckets(boundaries, cells, query.metrics && new Set(query.metrics));
    },

    async rebuildRollups(tenant, deviceId, range) {
      assertEpochMs(range.from, "from");
      assertEpochMs(range.to, "to");
      // Only days whose every point is still kept: an older day's rollups are all that is left of it.
      const oldestWhole = context.clock() - TELEMETRY_RETENTION_MS;
      let days = 0;
      let points = 0;
      for (let day = utcDayOf(range.from); day < range.to; day += DAY_MS) {
        days += 1;
        if (day < oldestWhole) continue;
        await commits.write(1, () => {
          points += rollups.recompute(tenant, deviceId, day, day + DAY_MS);
        });
      }
      recordSqlite(context, "rollups", points, days);
      return { days, points };
    },

    async flush() {},
  };
}
