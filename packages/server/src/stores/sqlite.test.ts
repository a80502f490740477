import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createSqliteStores } from "./sqlite/index.js";
import { sqliteRetentionTargets } from "./sqlite/retention.js";
import { describeStoresContract, type MakeStores } from "./testing/contract.js";
import { describeTrendsContract } from "./testing/trends-contract.js";
import { UsageTally } from "./usage.js";

function tempDatabase() {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-stores-"));
  const db = openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  return {
    db,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sqliteStores: MakeStores = async (clock) => {
  const { db, close } = tempDatabase();
  const tally = new UsageTally();
  const expiry = (sql: string, ...parameters: unknown[]) =>
    (db.prepare(sql).get(...parameters) as { at: number } | undefined)?.at;
  return {
    stores: createSqliteStores(db, { clock, usage: tally }),
    tally,
    storedExpiry: {
      telemetry: async (tenant, deviceId, timestampMs) =>
        expiry(
          "SELECT expire_at AS at FROM telemetry WHERE tenant_id = ? AND device_id = ? AND timestamp_ms = ?",
          tenant,
          deviceId,
          timestampMs,
        ),
      audit: async (tenant, entryId) =>
        expiry("SELECT expire_at AS at FROM audit_log WHERE tenant_id = ? AND id = ?", tenant, entryId),
      session: async (id) => expiry("SELECT expires_at AS at FROM sessions WHERE id = ?", id),
    },
    upkeep: async () => {
      for (const target of sqliteRetentionTargets(db)) {
        while (!target.deleteExpired(clock(), 1000).done);
      }
    },
    close: async () => close(),
  };
};

describeStoresContract("SQLite stores", "sqlite", sqliteStores);
describeTrendsContract("SQLite stores", "sqlite", sqliteStores);

/** The steps a database of the first release has applied (its `user_version` is therefore 50). */
const FIRST_RELEASE = [1, 50];

describe("SQLite stores schema", () => {
  it("numbers every step above the steps before it, so that an existing database runs each new one", () => {
    const versions = SQLITE_MIGRATIONS.map((step) => step.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it("upgrades a database of the first release (steps 1 and 50): the expiry index goes, the points stay and are rolled up, devices gain their new columns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "firebrick-stores-"));
    const file = join(dir, "firebrick.sqlite");
    const v1 = openSqlite(
      file,
      SQLITE_MIGRATIONS.filter((step) => FIRST_RELEASE.includes(step.version)),
    );
    v1.prepare("INSERT INTO telemetry VALUES ('acme', 'd', ?, '{\"t\":1}', 'api', ?)").run(
      Date.now(),
      Date.now(),
    );
    v1.close();
    const db = openSqlite(file, SQLITE_MIGRATIONS);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'telemetry'")
      .all();
    expect(indexes).toEqual([]);
    expect(db.prepare("SELECT count(*) AS n FROM telemetry").get()).toEqual({ n: 1 });
    // The stored point is rolled up by the trends step, for its one metric.
    expect(db.prepare("SELECT count(*) AS n FROM telemetry_rollups").get()).toEqual({ n: 1 });
    const deviceColumns = (db.prepare("PRAGMA table_info(devices)").all() as Array<{ name: string }>).map(
      (column) => column.name,
    );
    expect(deviceColumns).toEqual(expect.arrayContaining(["site", "points", "last_seen_ms"]));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records usage under the sqlite backend and the store's area", async () => {
    const { db, close } = tempDatabase();
    const tally = new UsageTally();
    const stores = createSqliteStores(db, { usage: tally });
    await stores.users.getByUsername("acme", "alice");
    await stores.telemetry.latest("acme", "d", 10);
    expect(Object.fromEntries(tally.byArea)).toEqual({
      "sqlite:auth": { reads: 1, writes: 0 },
      "sqlite:telemetry": { reads: 1, writes: 0 },
    });
    close();
  });

  it("answers the telemetry query from the primary key, in index order, without sorting", () => {
    const { db, close } = tempDatabase();
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM telemetry WHERE tenant_id = ? AND device_id = ?
         AND timestamp_ms >= ? AND timestamp_ms < ? ORDER BY timestamp_ms DESC LIMIT 100`,
      )
      .all("t", "d", 0, 1) as { detail: string }[];
    const details = plan.map((row) => row.detail).join("\n");
    expect(details).toMatch(/SEARCH telemetry USING PRIMARY KEY/);
    expect(details).not.toMatch(/TEMP B-TREE/);
    close();
  });

  it("refuses to change an audit entry once written", async () => {
    const { db, close } = tempDatabase();
    const stores = createSqliteStores(db);
    await stores.audit.append("acme", {
      action: "auth.login",
      user_id: null,
      timestamp_ms: 1,
      outcome: "success",
    });
    expect(() => db.prepare("UPDATE audit_log SET action = 'forged'").run()).toThrow(/append-only/);
    close();
  });
});
