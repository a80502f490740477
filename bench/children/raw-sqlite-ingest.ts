// The baseline of the SQLite ingest comparison, in a process of its own (as the server is): a raw
// better-sqlite3 loop writing the rows the telemetry store writes, with the same statement, into a database
// opened the way the service opens it (storage/: the same schema, pragmas and WAL checkpointing), each
// "request" of N points in its own transaction (BEGIN IMMEDIATE … COMMIT), back to back.
// Driven over IPC by bench/phases/sqlite-ingest.ts: {open}, {points} per request size, then {run} per round
// (answered with {result}); every message is answered once.
import { join } from "node:path";
import { openSqlite, type SqliteDatabase } from "../../packages/server/src/storage/sqlite.js";
import {
  startWalCheckpointer,
  type WalCheckpointer,
} from "../../packages/server/src/storage/sqlite-checkpointer.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import { TELEMETRY_RETENTION_MS } from "../../packages/server/src/stores/types.js";
import { BatchSource } from "../lib/ingest-load.js";
import { percentile } from "../lib/stats.js";
import { TENANT } from "../server-process.js";

type Message =
  | { type: "open"; dataDir: string; deviceIds: string[] }
  | { type: "points"; pointsPerRequest: number }
  | { type: "run"; seconds: number }
  | { type: "close" };

let db: SqliteDatabase | undefined;
let checkpointer: WalCheckpointer | undefined;
let deviceIds: string[] = [];
let source: BatchSource | undefined;

process.on("message", async (message: Message) => {
  if (message.type === "open") {
    db = openSqlite(join(message.dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    // As the server runs it, but with nothing to hold: a raw loop has no group commit to pause.
    checkpointer = startWalCheckpointer(db);
    deviceIds = message.deviceIds;
    process.send!({ type: "opened" });
  } else if (message.type === "points") {
    source = new BatchSource(
      deviceIds.map((id) => ({ id, token: "" })),
      message.pointsPerRequest,
    );
    process.send!({ type: "ok" });
  } else if (message.type === "run") {
    const upsert = db!.prepare(
      "INSERT OR REPLACE INTO telemetry (tenant_id, device_id, timestamp_ms, metrics, source, expire_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const request = db!.transaction((deviceId: string, points: ReturnType<BatchSource["next"]>["points"]) => {
      for (const point of points) {
        upsert.run(
          TENANT,
          deviceId,
          point.timestamp_ms,
          JSON.stringify(point.metrics),
          "api",
          point.timestamp_ms + TELEMETRY_RETENTION_MS,
        );
      }
    }).immediate;
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + message.seconds * 1000;
    let points = 0;
    while (performance.now() < deadline) {
      // A turn of the event loop every few ms, as a server gives one: the checkpointer's messages arrive.
      const slice = performance.now() + 5;
      while (performance.now() < slice) {
        const batch = source!.next();
        const started = performance.now();
        request(batch.device.id, batch.points);
        latencies.push(performance.now() - started);
        points += batch.points.length;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    process.send!({
      type: "result",
      rate: points / seconds,
      points,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      p999: percentile(latencies, 99.9),
      max: Math.max(...latencies),
    });
  } else if (message.type === "close") {
    await checkpointer?.stop();
    db?.close();
    process.send!({ type: "closed" }, () => process.exit(0));
  }
});
process.send!({ type: "ready" });
