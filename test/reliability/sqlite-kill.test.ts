// Acknowledged = durable on the embedded default: `firebrick serve` on SQLite (group commit, the WAL
// checkpointer in its worker thread) is killed with SIGKILL while devices are writing, then the data dir is
// opened again. Every point answered 202 before the kill must be in the SQLite file, and a new server on
// the same data dir starts and serves them. SIGKILL gives the process no chance to flush anything: what
// was acknowledged was already committed to the WAL.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqlite } from "../../packages/server/src/storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import { call, createDevices, firstRunPassword, killServers, scaled, serve, until } from "./support.js";

const TENANT = "demo";
const DEVICES = scaled(8, 32);
const POINTS_PER_WRITE = scaled(5, 20);
/** Acknowledged writes per device before the kill. */
const STEADY_WRITES = scaled(10, 100);
const dataDir = mkdtempSync(join(tmpdir(), "firebrick-sqlite-kill-"));
afterAll(killServers);

/** `firebrick serve` on SQLite only (no Firestore variables). */
const startServer = () => serve({ FIREBRICK_DATA_DIR: dataDir, DEVICE_WRITES_PER_MINUTE: "100000" });

describe("firebrick serve on SQLite, killed with SIGKILL during ingest", () => {
  it("keeps every point it acknowledged (202), and a new server on the same data dir serves them", async () => {
    const server = await startServer();
    const password = firstRunPassword(server);
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password },
    });
    expect(login.status).toBe(200);
    const devices = await createDevices(server.url, {
      tenant: TENANT,
      session: login.session!,
      count: DEVICES,
    });

    const acknowledged = new Map<string, number[]>(devices.map(({ id }) => [id, []]));
    let stop = false;
    let killed = false;
    let failedAfterKill = 0;
    const base = Date.now() - 30 * 60_000;
    const ingest = devices.map(async ({ id, token }) => {
      for (let sequence = 0; !stop; sequence++) {
        const timestamps = Array.from(
          { length: POINTS_PER_WRITE },
          (_, j) => base + sequence * POINTS_PER_WRITE + j,
        );
        try {
          const reply = await call(server.url, "POST", `/api/devices/${id}/telemetry`, {
            tenant: TENANT,
            bearer: token,
            body: { points: timestamps.map((t) => ({ timestamp_ms: t, metrics: { zone_temp_c: 21.5 } })) },
          });
          if (reply.status === 202) acknowledged.get(id)!.push(...timestamps);
          else throw new Error(`unexpected ${reply.status}`);
          // Paced a little: the test needs writes in flight at the kill, not the machine's last cycle
          // (other test files run beside it).
          await new Promise((resolve) => setTimeout(resolve, 5));
        } catch (error) {
          // Refused or cut off: only expected once the server is gone.
          if (!killed) throw error;
          failedAfterKill += 1;
          return;
        }
      }
    });
    const acknowledgedPoints = () =>
      [...acknowledged.values()].reduce((sum, points) => sum + points.length, 0);
    // Killed once enough is acknowledged (a count, not a time: a loaded machine acknowledges less per second).
    await until(
      () => acknowledgedPoints() >= DEVICES * STEADY_WRITES * POINTS_PER_WRITE,
      "acknowledged writes before the kill",
      120_000,
    );
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    killed = true;
    server.child.kill("SIGKILL");
    await exited;
    stop = true;
    await Promise.all(ingest);
    const total = acknowledgedPoints();
    expect(total).toBeGreaterThan(DEVICES * POINTS_PER_WRITE);

    // The file as the killed process left it (its WAL included): every acknowledged point is there.
    const db = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    const stored = db.prepare<[string, string], { timestamp_ms: number }>(
      "SELECT timestamp_ms FROM telemetry WHERE tenant_id = ? AND device_id = ?",
    );
    let lost = 0;
    for (const [id, timestamps] of acknowledged) {
      const held = new Set(stored.all(TENANT, id).map((row) => row.timestamp_ms));
      lost += timestamps.filter((t) => !held.has(t)).length;
    }
    db.close();
    console.log(
      `${total} points acknowledged before SIGKILL, ${lost} missing; ${failedAfterKill} writes cut off`,
    );
    expect(lost).toBe(0);

    // A new server on the same data dir starts (recovering the WAL) and serves the newest of them.
    const again = await startServer();
    const relogin = await call(again.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password },
    });
    const [first] = devices;
    const latest = await call(again.url, "GET", `/api/devices/${first!.id}/telemetry?limit=1`, {
      tenant: TENANT,
      session: relogin.session!,
    });
    expect(latest.status).toBe(200);
    expect((latest.body as { points: Array<{ timestamp_ms: number }> }).points[0]!.timestamp_ms).toBe(
      Math.max(...acknowledged.get(first!.id)!),
    );
    again.child.kill("SIGTERM");
  }, 120_000);
});
