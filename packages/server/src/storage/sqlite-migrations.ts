import { rollUpStoredPoints } from "../stores/sqlite/rollups.js";
import type { Migration } from "./sqlite.js";

/**
 * The SQLite schema, one versioned step at a time. Append new steps at the end, numbered above every
 * step before them (a test checks it), and never edit an applied one: a database records only the
 * highest version it applied (`user_version`), so a step numbered below it would never run there.
 *
 * No foreign keys between areas: each area (auth, telemetry, audit) moves to Firestore on its own
 * flag, so a SQLite row cannot rely on a row that may by then live in Firestore. Indexes mirror the
 * Firestore composite indexes, so that both backends answer the same queries in the same order.
 */
/** The columns of a trend rollup row (stores/rollups/stats.ts), in `telemetry_rollups` and its hour cells. */
const ROLLUP_STATS_COLUMNS = `count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  first REAL NOT NULL, first_ms INTEGER NOT NULL, last REAL NOT NULL, last_ms INTEGER NOT NULL,
  expire_at INTEGER NOT NULL,`;

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "stores: tenants, users, sessions, devices, telemetry, audit_log",
    up: `
      CREATE TABLE tenants (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE users (
        id             TEXT PRIMARY KEY,
        tenant_id      TEXT NOT NULL,
        username       TEXT NOT NULL,
        username_key   TEXT NOT NULL,
        role           TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        password_hash  TEXT NOT NULL,
        algo_params    TEXT NOT NULL,
        needs_rehash   INTEGER NOT NULL CHECK (needs_rehash IN (0, 1)),
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        UNIQUE (tenant_id, username_key)
      ) STRICT;

      CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        tenant_id     TEXT NOT NULL,
        user_id       TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_seen_at  INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        fingerprint   TEXT NOT NULL,
        user_agent    TEXT,
        ip            TEXT
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
      CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);

      CREATE TABLE devices (
        id                TEXT PRIMARY KEY,
        tenant_id         TEXT NOT NULL,
        name              TEXT NOT NULL,
        token_hash        TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        token_rotated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX devices_by_tenant_name ON devices (tenant_id, name, id);

      -- The key is the Firestore composite index (tenant_id asc, device_id asc, timestamp_ms desc),
      -- clustered, and a point's identity: writing the same point again replaces it.
      CREATE TABLE telemetry (
        tenant_id     TEXT NOT NULL,
        device_id     TEXT NOT NULL,
        timestamp_ms  INTEGER NOT NULL,
        metrics       TEXT NOT NULL,
        source        TEXT NOT NULL,
        expire_at     INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, device_id, timestamp_ms DESC)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX telemetry_by_expiry ON telemetry (expire_at);

      CREATE TABLE audit_log (
        tenant_id     TEXT NOT NULL,
        id            TEXT NOT NULL,
        action        TEXT NOT NULL,
        user_id       TEXT,
        timestamp_ms  INTEGER NOT NULL,
        outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        target        TEXT,
        ip            TEXT,
        user_agent    TEXT,
        details       TEXT NOT NULL,
        source        TEXT NOT NULL,
        expire_at     INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id)
      ) STRICT;
      CREATE INDEX audit_by_time ON audit_log (tenant_id, timestamp_ms DESC, id DESC);
      CREATE INDEX audit_by_user ON audit_log (tenant_id, user_id, timestamp_ms DESC, id DESC);
      CREATE INDEX audit_by_action ON audit_log (tenant_id, action, timestamp_ms DESC, id DESC);
      CREATE INDEX audit_by_user_action ON audit_log (tenant_id, user_id, action, timestamp_ms DESC, id DESC);
      CREATE INDEX audit_by_expiry ON audit_log (expire_at);
      -- Append-only: an entry, once written, never changes (retention may still delete it).
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
  {
    version: 50,
    name: "settings: service settings that survive a restart (the routing flags)",
    up: "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL) STRICT",
  },
  {
    // Issue 14: the service-wide state of fleet/sqlite.ts (docs/design/fleet.md), for the processes that
    // share this file: versioned records (the limiters' state), the platform audit log, the change feed.
    version: 51,
    name: "fleet: records, platform_audit, fleet_changes",
    up: `
      CREATE TABLE fleet_records (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        value      TEXT NOT NULL,
        version    INTEGER NOT NULL,
        expire_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX fleet_records_by_expiry ON fleet_records (expire_at);

      CREATE TABLE platform_audit (
        id            TEXT PRIMARY KEY,
        action        TEXT NOT NULL,
        actor         TEXT NOT NULL,
        timestamp_ms  INTEGER NOT NULL,
        outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        target        TEXT,
        details       TEXT NOT NULL,
        expire_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX platform_audit_by_time ON platform_audit (timestamp_ms DESC, id DESC);
      CREATE INDEX platform_audit_by_expiry ON platform_audit (expire_at);
      CREATE TRIGGER platform_audit_append_only BEFORE UPDATE ON platform_audit
      BEGIN SELECT RAISE(ABORT, 'platform_audit is append-only'); END;

      -- Read by every process after the sequence number it last saw; rows older than an hour go.
      CREATE TABLE fleet_changes (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL,
        tenant_id  TEXT NOT NULL,
        subject    TEXT NOT NULL,
        at         INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    // Issue 21 (first numbered 2, below the settings' 50, which a database from before issue 21 had
    // passed already: renumbered so that it runs there too; dropping the index again is a no-op):
    // no query read this index, and it cost every insert a second B-tree write in expiry
    // order (at 50 points a request: 3× less throughput, and more bytes per point). Retention deletes
    // expired points by the primary key instead, device by device (stores/sqlite/retention.ts):
    // expire_at is always timestamp_ms + TELEMETRY_RETENTION_MS, so "expired" is a timestamp range.
    version: 52,
    name: "telemetry: drop telemetry_by_expiry (retention walks the primary key)",
    up: "DROP INDEX IF EXISTS telemetry_by_expiry",
  },
  {
    // Issue 19: where a device is, what its metrics mean, when it was last heard from. The location
    // is four columns (not JSON) so that a later "devices of this site" query can use an index; the
    // point definitions are read and written whole with the device, so one JSON column is enough.
    version: 53,
    name: "devices: location, point definitions, last_seen_ms",
    up: `
      ALTER TABLE devices ADD COLUMN site TEXT;
      ALTER TABLE devices ADD COLUMN building TEXT;
      ALTER TABLE devices ADD COLUMN floor TEXT;
      ALTER TABLE devices ADD COLUMN zone TEXT;
      ALTER TABLE devices ADD COLUMN points TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE devices ADD COLUMN last_seen_ms INTEGER;
    `,
  },
  {
    // Issue 18 (docs/design/trends.md): trend rollups per five-minute slot and metric, kept in the same
    // transaction as the points; the tenant's time zone for daily buckets; fenced job checkpoints for
    // `firebrick rollups rebuild` on SQLite. Points stored before this version get their rollups here.
    version: 54,
    name: "trends: telemetry_rollups, tenants.time_zone, job_checkpoints",
    up: (db) => {
      db.exec(`
        ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
        ALTER TABLE tenants ADD COLUMN time_zone_since INTEGER NOT NULL DEFAULT 0;

        -- The key is the read order of a trend query: one device's slots in time order.
        CREATE TABLE telemetry_rollups (
          tenant_id  TEXT NOT NULL,
          device_id  TEXT NOT NULL,
          slot_ms    INTEGER NOT NULL,
          metric     TEXT NOT NULL,
          ${ROLLUP_STATS_COLUMNS}
          PRIMARY KEY (tenant_id, device_id, slot_ms, metric)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE job_checkpoints (
          job         TEXT PRIMARY KEY,
          fence       TEXT NOT NULL,
          checkpoint  TEXT,
          updated_at  INTEGER NOT NULL
        ) STRICT;
      `);
      rollUpStoredPoints(db);
    },
  },
  {
    // Issue 19: alarm rules, with where each stands (JSON, read and written whole in one transaction),
    // and alarms. At most one open (not cleared) alarm per rule, enforced by a partial unique index
    // (docs/design/alarms.md).
    version: 55,
    name: "alarms: rules, alarms, the offline sweep's fence",
    up: `
      CREATE TABLE alarm_rules (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        rule        TEXT NOT NULL,
        state       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alarm_rules_by_device ON alarm_rules (tenant_id, device_id);
      CREATE INDEX alarm_rules_by_tenant ON alarm_rules (tenant_id, created_at, id);
      CREATE INDEX alarm_rules_by_kind ON alarm_rules (kind, id);

      CREATE TABLE alarms (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        rule_id     TEXT NOT NULL,
        state       TEXT NOT NULL,
        raised_ms   INTEGER NOT NULL,
        alarm       TEXT NOT NULL,
        expire_at   INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX alarms_one_open_per_rule ON alarms (rule_id) WHERE state <> 'cleared';
      CREATE INDEX alarms_by_tenant ON alarms (tenant_id, raised_ms DESC, id DESC);
      CREATE INDEX alarms_by_state ON alarms (tenant_id, state, raised_ms DESC, id DESC);
      CREATE INDEX alarms_by_expiry ON alarms (expire_at) WHERE expire_at IS NOT NULL;

      CREATE TABLE alarm_fences (
        scope  TEXT PRIMARY KEY,
        fence  TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Issue 19: webhooks, their deliveries (enqueued in the transaction of the alarm transition they
    // announce) and each delivery attempt, for the admin's delivery log (docs/design/webhooks.md). The
    // dispatcher's fence is a row of `alarm_fences` (scope `webhook-dispatcher`).
    version: 56,
    name: "webhooks: registrations, deliveries, attempts",
    up: `
      CREATE TABLE webhooks (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        webhook     TEXT NOT NULL
      ) STRICT;
      CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, created_at, id);

      CREATE TABLE webhook_deliveries (
        id               TEXT PRIMARY KEY,
        tenant_id        TEXT NOT NULL,
        webhook_id       TEXT NOT NULL,
        next_attempt_ms  INTEGER,
        delivery         TEXT NOT NULL,
        expire_at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms, id)
        WHERE next_attempt_ms IS NOT NULL;
      CREATE INDEX webhook_deliveries_by_expiry ON webhook_deliveries (expire_at);

      CREATE TABLE webhook_attempts (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL,
        webhook_id  TEXT NOT NULL,
        at_ms       INTEGER NOT NULL,
        attempt     TEXT NOT NULL,
        expire_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (tenant_id, webhook_id, at_ms DESC, id DESC);
      CREATE INDEX webhook_attempts_by_expiry ON webhook_attempts (expire_at);
    `,
  },
  {
    // Issue 21 (docs/design/trends.md): five-minute rollups older than raw retention are compacted into
    // hour cells (stores/sqlite/rollup-compaction.ts), so that the file stops growing at steady state.
    // A cell is an hour, cut at the tenant's local midnight in zones offset by a half or three quarters
    // of an hour, so that it lies wholly inside one hour bucket and one local day.
    version: 57,
    name: "trends: telemetry_rollup_hours",
    up: `
      CREATE TABLE telemetry_rollup_hours (
        tenant_id  TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        start_ms   INTEGER NOT NULL,
        metric     TEXT NOT NULL,
        ${ROLLUP_STATS_COLUMNS}
        PRIMARY KEY (tenant_id, device_id, start_ms, metric)
      ) STRICT, WITHOUT ROWID;
    `,
  },
];
