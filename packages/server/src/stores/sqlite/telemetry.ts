import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertEpochMs, assertLimit, telemetryPointId } from "../keys.js";
import { distinctPoints } from "../points.js";
import {
  InvalidCursorError,
  type NewPoint,
  type Page,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
  type TelemetryStore,
  type TenantId,
} from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";
import { SqliteGroupCommit } from "./group-commit.js";

interface PointRow {
  tenant_id: string;
  device_id: string;
  timestamp_ms: number;
  metrics: string;
  source: string;
}

const COLUMNS = "tenant_id, device_id, timestamp_ms, metrics, source";

function toPoint(row: PointRow): TelemetryPoint {
  return { ...row, metrics: JSON.parse(row.metrics) as Record<string, number> };
}

export function createSqliteTelemetryStore(
  context: SqliteContext,
  commits: SqliteGroupCommit = new SqliteGroupCommit(context.db),
): TelemetryStore {
  const { db } = context;
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO telemetry (${COLUMNS}, expire_at) VALUES (?, ?, ?, ?, ?, ?)`,
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
  const oldestKept = () => context.clock() - TELEMETRY_RETENTION_MS + 1;

  return {
    async append(tenant: TenantId, deviceId: string, points: NewPoint[]): Promise<{ written: number }> {
      const distinct = distinctPoints(points);
      // Serialised before the transaction, which then only inserts.
      const metrics = distinct.map((point) => JSON.stringify(point.metrics));
      // Concurrent appends (many devices) share transactions; each append is still all-or-nothing.
      await commits.write(distinct.length, () => {
        for (let i = 0; i < distinct.length; i++) {
          const point = distinct[i]!;
          const t = point.timestamp_ms;
          upsert.run(tenant, deviceId, t, metrics[i], point.source ?? "api", t + TELEMETRY_RETENTION_MS);
        }
      });
      ownCommits++;
      recordSqlite(context, "telemetry", 0, distinct.length);
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
      if (query.cursor) {
        const cursor = decodeCursor("telemetry", query.cursor);
        if (cursor.id !== telemetryPointId(tenant, deviceId, cursor.t)) {
          throw new InvalidCursorError("cursor belongs to another device");
        }
        // The primary key makes timestamp_ms unique per device, so "after the cursor" is "< t".
        to = Math.min(to, cursor.t);
      }
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
          rows.length === query.limit && last
            ? encodeCursor<"telemetry">({
                k: "telemetry",
                t: last.timestamp_ms,
                id: telemetryPointId(tenant, deviceId, last.timestamp_ms),
              })
            : null,
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
  };
}
