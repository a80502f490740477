import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { hash as argon2Hash } from "@node-rs/argon2";
import { seededRandom } from "../seeded-random.js";
import type { SqliteDatabase } from "../storage/sqlite.js";
import { createSqliteStores } from "../stores/index.js";
import type { Role } from "../stores/types.js";
import type { Progress } from "./job.js";
import type { HashFormat } from "./password-formats.js";

/** A user of the fixture, with the password that logs them in (for tests and demos). */
export interface FixtureUser {
  tenant: string;
  id: string;
  username: string;
  password: string;
  role: Role;
  format: HashFormat;
}

export interface FixtureOptions {
  users?: number;
  devices?: number;
  days?: number;
  /** Telemetry points per device per day. */
  pointsPerDay?: number;
  /** Audit entries per tenant per day (they go back `max(days, 40)` days, so a backfill window matters). */
  auditPerDay?: number;
  tenants?: string[];
  now?: number;
  seed?: number;
  /** Counts the users and devices written (a device with its whole series). */
  progress?: Progress;
}

export interface FixtureManifest {
  tenants: string[];
  users: FixtureUser[];
  devices: { tenant: string; id: string; name: string }[];
  points: number;
  audit_entries: number;
}

const FORMATS: HashFormat[] = ["legacy", "legacy", "current", "unsalted"];

/**
 * Fills a legacy SQLite store with what a years-old deployment holds: users whose passwords are in
 * mixed formats (Argon2id, Werkzeug's salted PBKDF2 and HMAC-SHA256 from the old Flask app, unsalted MD5 that must be
 * refused), legacy non-UUID user ids, audit rows over the last weeks, and telemetry for many devices.
 * Deterministic for a given seed.
 */
export async function generateLegacyFixture(
  db: SqliteDatabase,
  options: FixtureOptions = {},
): Promise<FixtureManifest> {
  const stores = createSqliteStores(db, {});
  const renameUser = db.prepare("UPDATE users SET id = ? WHERE id = ?");
  // Seeded, so that a fixture is the same for the same seed.
  const random = seededRandom(options.seed ?? 1);
  const now = options.now ?? Date.now();
  const tenants = options.tenants ?? ["acme", "globex"];
  const days = options.days ?? 7;
  const manifest: FixtureManifest = { tenants, users: [], devices: [], points: 0, audit_entries: 0 };

  for (const tenant of tenants) {
    if (!(await stores.tenants.get(tenant)))
      await stores.tenants.create({ id: tenant, name: tenant.toUpperCase() });
  }

  const userCount = options.users ?? 8;
  const deviceCount = options.devices ?? 4;
  const progress = options.progress;
  progress?.start(userCount + deviceCount);
  for (let i = 0; i < userCount; i++) {
    const tenant = tenants[i % tenants.length]!;
    const format = FORMATS[i % FORMATS.length]!;
    const username = `user${i}`;
    const password = `pw-${username}-${Math.floor(random() * 1e6)}`;
    // The first user of each tenant is its admin (with a legacy hash: the cutover must keep admins able to sign in).
    const role: Role = i < tenants.length ? "admin" : i % 2 === 0 ? "operator" : "viewer";
    const password_hash = await legacyHash(format, password, random);
    const user = await stores.users.create(tenant, {
      username,
      role,
      password_hash,
      algo_params: { algorithm: format === "current" ? "argon2id" : password_hash.split(/[$:]/)[0]! },
      needs_rehash: format !== "current",
    });
    // The old app used integer ids; rows imported from it kept them (only newer rows have UUIDs).
    // Admins are kept on UUIDs so that the service can sign them in before the cutover too.
    const id = format === "current" || role === "admin" ? user.id : String(1000 + i);
    if (id !== user.id) renameUser.run(id, user.id);
    manifest.users.push({ tenant, id, username, password, role, format });
    progress?.advance(1);
  }

  const perDay = options.pointsPerDay ?? 96;
  const step = Math.floor((24 * 3600 * 1000) / perDay);
  for (let d = 0; d < deviceCount; d++) {
    const tenant = tenants[d % tenants.length]!;
    const device = await stores.devices.create(tenant, {
      name: `AHU-${d + 1}`,
      token_hash: createHash("sha256").update(`fixture-device-${d}`).digest("hex"),
    });
    manifest.devices.push({ tenant, id: device.id, name: device.name });
    const points = [];
    const start = now - days * 24 * 3600 * 1000;
    for (let t = start - (start % step) + step; t <= now; t += step) {
      const hour = new Date(t).getUTCHours();
      const occupied = hour >= 8 && hour < 18;
      points.push({
        timestamp_ms: t,
        metrics: {
          zone_temp_c: round(21 + (occupied ? 1 : -1.5) + (random() - 0.5) * 0.6),
          co2_ppm: round(occupied ? 650 + random() * 400 : 420 + random() * 40),
          humidity_rh: round(40 + (random() - 0.5) * 8),
        },
        source: "api",
      });
    }
    await stores.telemetry.append(tenant, device.id, points);
    manifest.points += points.length;
    progress?.advance(1);
  }
  progress?.stop();

  const auditPerDay = options.auditPerDay ?? 6;
  const auditDays = Math.max(days, 40);
  for (const tenant of tenants) {
    const actors = manifest.users.filter((user) => user.tenant === tenant);
    for (let i = 0; i < auditDays * auditPerDay; i++) {
      const actor = actors[i % Math.max(1, actors.length)];
      await stores.audit.append(tenant, {
        action: ["auth.login", "device.create", "auth.logout", "telemetry.read"][i % 4]!,
        user_id: actor?.id ?? null,
        timestamp_ms: now - Math.floor(((i + 0.5) / auditPerDay) * 24 * 3600 * 1000),
        outcome: "success",
        ip: `10.0.${i % 255}.${(i * 7) % 255}`,
        user_agent: "LegacyApp/1.0",
      });
      manifest.audit_entries++;
    }
  }
  return manifest;
}

async function legacyHash(format: HashFormat, password: string, random: () => number): Promise<string> {
  const salt = Math.floor(random() * 2 ** 32)
    .toString(16)
    .padStart(8, "0");
  switch (format) {
    case "current":
      // Cheaper than production on purpose: fixtures are generated in tests; the service re-hashes
      // weaker-than-policy Argon2id hashes at the next login.
      return argon2Hash(password, { algorithm: 2, memoryCost: 4096, timeCost: 2, parallelism: 1 });
    case "legacy":
      return random() < 0.5
        ? `pbkdf2:sha256:1000$${salt}$${pbkdf2Sync(password, salt, 1000, 32, "sha256").toString("hex")}`
        : `sha256$${salt}$${createHmac("sha256", salt).update(password).digest("hex")}`;
    default:
      return createHash("md5").update(password).digest("hex");
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
