import { createHash, randomUUID } from "node:crypto";
import { join } from "node:path";
import { openSqlite } from "../../packages/server/src/storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import { AUDIT_RETENTION_MS, TELEMETRY_RETENTION_MS } from "../../packages/server/src/stores/types.js";
import { TENANT } from "../server-process.js";
import type { Device } from "./service.js";

export interface FixtureOptions {
  devices: number;
  /** Points stored per device, one a minute, the newest a minute ago. */
  pointsPerDevice: number;
  /** Audit entries of the tenant, spread over the last 30 days. */
  auditEntries: number;
}

/**
 * A data dir whose SQLite file (schema from the service's migrations) already holds `devices` devices of
 * tenant `demo` (with known bearer tokens), their telemetry and an audit log, written straight into the
 * tables the stores use: a fixture of a million rows in seconds instead of through the API. No tenant
 * row: the server's first run then creates `demo` and its admin as usual.
 */
export function buildSqliteFixture(dataDir: string, options: FixtureOptions): Device[] {
  const db = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  // Building only: a crash here loses nothing that matters, and a large cache keeps the indexes in memory.
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  const now = Date.now();
  const devices: Device[] = Array.from({ length: options.devices }, (_, i) => ({
    id: randomUUID(),
    token: `bench-device-token-${i}`,
  }));
  const insertDevice = db.prepare(
    "INSERT INTO devices (id, tenant_id, name, token_hash, created_at, token_rotated_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insertPoint = db.prepare(
    "INSERT INTO telemetry (tenant_id, device_id, timestamp_ms, metrics, source, expire_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insertAudit = db.prepare(
    `INSERT INTO audit_log (tenant_id, id, action, user_id, timestamp_ms, outcome, target, ip, user_agent, details, source, expire_at)
     VALUES (?, ?, ?, NULL, ?, 'success', ?, '127.0.0.1', 'bench', '{}', 'app', ?)`,
  );
  const inBatches = (count: number, write: (i: number) => void) => {
    const batch = db.transaction((from: number) => {
      for (let i = from; i < Math.min(count, from + 50_000); i++) write(i);
    });
    for (let from = 0; from < count; from += 50_000) batch(from);
  };
  inBatches(devices.length, (i) => {
    const { id, token } = devices[i]!;
    insertDevice.run(id, TENANT, `AHU-${i}`, createHash("sha256").update(token).digest("hex"), now, now);
  });
  inBatches(devices.length * options.pointsPerDevice, (i) => {
    const device = devices[Math.floor(i / options.pointsPerDevice)]!;
    const t = now - ((i % options.pointsPerDevice) + 1) * 60_000;
    const metrics = JSON.stringify({ zone_temp_c: 21 + (i % 7) / 10, co2_ppm: 450 + (i % 50) });
    insertPoint.run(TENANT, device.id, t, metrics, "api", t + TELEMETRY_RETENTION_MS);
  });
  const actions = ["auth.login", "device.create", "telemetry.export", "user.update"];
  const spanMs = 30 * 24 * 3600_000;
  inBatches(options.auditEntries, (i) => {
    const t = now - spanMs + Math.floor((i * spanMs) / options.auditEntries);
    // Ids in time order (real ones are random UUIDs): the fixture's primary key is built in order, fast;
    // the pages read (audit_by_time and the rows) are the same.
    const id = `${t.toString(36)}-${i.toString(36).padStart(6, "0")}`;
    insertAudit.run(TENANT, id, actions[i % actions.length], t, `device:${i}`, t + AUDIT_RETENTION_MS);
  });
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return devices;
}
