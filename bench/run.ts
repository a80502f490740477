// `npm run bench`: every figure of docs/design/targets.md, each beside a baseline measured in the same run on
// the same emulator, printed as a table and written into bench/README.md. See bench/README.md for what each
// means. Env: BENCH_SECONDS (per ingest round, default 5), BENCH_SAMPLES (telemetry reads, default 200),
// BENCH_NO_README=1 to print only, BENCH_STRICT=1 to exit 1 when a target is missed.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Firestore, Timestamp } from "@google-cloud/firestore";
import autocannon from "autocannon";
import { loadConfig } from "../packages/server/src/config/env.js";
import { startFirestoreEmulator } from "../packages/server/src/firestore/emulator.js";
import { createLogger } from "../packages/server/src/observability/logger.js";
import { startServer } from "../packages/server/src/server.js";
import { telemetryPointId } from "../packages/server/src/stores/keys.js";
import { TELEMETRY_RETENTION_MS } from "../packages/server/src/stores/types.js";
import { UsageTally } from "../packages/server/src/stores/usage.js";
import { LatestTelemetryCache } from "../packages/server/src/telemetry/latest-cache.js";
import { call, HEADER, login, startServerProcess, TENANT } from "./server-process.js";

process.env.METADATA_SERVER_DETECTION = "none";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const CONNECTIONS = 32;
const POINTS_PER_REQUEST = 10;
const DEVICES = 64;
const LOGINS = 100;
const MiB = 1024 * 1024;
const root = fileURLToPath(new URL("..", import.meta.url));

interface Figure {
  what: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean;
}
const figures: Figure[] = [];
const log = (text: string) => process.stderr.write(`${text}\n`);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const tempDir = (label: string) => mkdtempSync(join(tmpdir(), `firebrick-bench-${label}-`));
const projectId = (label: string) => `bench-${label}-${randomBytes(4).toString("hex")}`;
const started = Date.now();
const phase = (name: string) => log(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${name}`);

// 1. The lock library's own bench (its floor and the library alternate on its private emulator).
async function lockPhase(): Promise<void> {
  phase("lock: running packages/lock/bench (its own emulator)…");
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "packages/lock/bench/lock.bench.ts"], {
      cwd: root,
      env: { ...process.env, BENCH_SECONDS: process.env.BENCH_LOCK_SECONDS ?? "3", BENCH_ROUNDS: "2" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once("exit", (code) =>
      code === 0 ? resolve(text) : reject(new Error(`lock bench: exit ${code}`)),
    );
  });
  const parallel = /16 in flight\s+floor ([\d.]+)\s+lock ([\d.]+)\s+ratio ([\d.]+)/.exec(output);
  const contended = /contended key\s+([\d.]+) acquisitions\/s, p95 of a failed attempt ([\d.]+) ms/.exec(
    output,
  );
  if (!parallel || !contended) throw new Error(`lock bench output not understood:\n${output}`);
  const ratio = Number(parallel[3]);
  figures.push({
    what: "lock acquire+release, 16 in flight, distinct keys",
    measured: `${parallel[2]} cycles/s`,
    baseline: `raw SDK floor ${parallel[1]} cycles/s`,
    ratio: `${ratio.toFixed(2)}×`,
    target: "≥ 0.8×",
    met: ratio >= 0.8,
  });
  const p95 = Number(contended[2]);
  figures.push({
    what: "lock, 8 workers on 1 key: p95 of a failed attempt",
    measured: `${p95.toFixed(1)} ms`,
    baseline: "—",
    ratio: "—",
    target: "≤ 50 ms",
    met: p95 <= 50,
  });
}

const emulator = await startFirestoreEmulator();
const [emulatorHostname, emulatorPort] = emulator.hostPort.split(":") as [string, string];
const clients: Firestore[] = [];
const firestoreClient = (project: string) => {
  const db = new Firestore({
    projectId: project,
    host: emulatorHostname,
    port: Number(emulatorPort),
    ssl: false,
  });
  clients.push(db);
  return db;
};

const pointDoc = (deviceId: string, timestamp: number, value: number) => ({
  tenant_id: TENANT,
  device_id: deviceId,
  timestamp_ms: timestamp,
  metrics: { zone_temp_c: value, co2_ppm: 400 + value },
  source: "api",
  expire_at: Timestamp.fromMillis(timestamp + TELEMETRY_RETENTION_MS),
});

// 2 + 3. Telemetry read latency and ingest throughput through `firebrick serve` vs the raw SDK.
async function httpPhases(): Promise<void> {
  const project = projectId("http");
  const server = await startServerProcess({
    dataDir: tempDir("http"),
    emulatorHost: emulator.hostPort,
    projectId: project,
    deviceWritesPerMinute: 100_000,
  });
  try {
    const admin = await login(server.url, "admin", server.adminPassword!);
    const devices: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < DEVICES; i++) {
      const created = (await call(server.url, "POST", "/api/devices", {
        cookie: admin,
        body: { name: `AHU-${i}` },
        expect: 201,
      })) as { device: { id: string }; token: string };
      devices.push({ id: created.device.id, token: created.token });
    }
    const reader = devices[0]!;
    const base = Date.now() - 60 * 60_000;
    await call(server.url, "POST", `/api/devices/${reader.id}/telemetry`, {
      bearer: reader.token,
      body: {
        points: Array.from({ length: 200 }, (_, i) => ({ timestamp_ms: base + i * 1000, metrics: { t: i } })),
      },
      expect: 202,
    });

    // Telemetry read: the same query the Firestore store runs for `latest`, straight on the SDK.
    phase("telemetry read: HTTP vs raw SDK, interleaved…");
    const raw = firestoreClient(project);
    const rawLatest = async () => {
      const snapshot = await raw
        .collection("telemetry")
        .where("tenant_id", "==", TENANT)
        .where("device_id", "==", reader.id)
        .where("timestamp_ms", ">=", Date.now() - TELEMETRY_RETENTION_MS + 1)
        .orderBy("timestamp_ms", "desc")
        .limit(100)
        .get();
      const points = snapshot.docs.map((doc) => doc.data());
      if (points.length !== 100) throw new Error(`raw query returned ${points.length} points`);
    };
    const httpLatest = async () => {
      const body = (await call(server.url, "GET", `/api/devices/${reader.id}/telemetry?limit=100`, {
        cookie: admin,
      })) as { points: unknown[] };
      if (body.points.length !== 100) throw new Error(`HTTP returned ${body.points.length} points`);
    };
    for (let i = 0; i < 20; i++) await Promise.all([rawLatest(), httpLatest()]);
    const rawTimes: number[] = [];
    const httpTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      for (const [run, times] of [
        [rawLatest, rawTimes],
        [httpLatest, httpTimes],
      ] as const) {
        const t0 = performance.now();
        await run();
        times.push(performance.now() - t0);
      }
    }
    for (const p of [50, 95]) {
      const ratio = percentile(httpTimes, p) / percentile(rawTimes, p);
      figures.push({
        what: `GET …/telemetry?limit=100 p${p} (HTTP)`,
        measured: `${percentile(httpTimes, p).toFixed(2)} ms`,
        baseline: `raw SDK query ${percentile(rawTimes, p).toFixed(2)} ms`,
        ratio: `${ratio.toFixed(2)}×`,
        target: p === 50 ? "≤ 1.5×" : "(p50 is the target)",
        met: p === 50 ? ratio <= 1.5 : true,
      });
    }

    // Ingest: CONNECTIONS requests in flight, each POINTS_PER_REQUEST points of one of DEVICES devices.
    let sequence = 0;
    const nextBatch = () => {
      const n = sequence++;
      const device = devices[n % devices.length]!;
      const slot = Math.floor(n / devices.length) * POINTS_PER_REQUEST;
      return {
        device,
        points: Array.from({ length: POINTS_PER_REQUEST }, (_, j) => ({
          timestamp_ms: base + 200_000 + slot + j,
          metrics: { zone_temp_c: 21 + (j % 3), co2_ppm: 450 + j },
        })),
      };
    };
    const rawIngest = async (): Promise<number> => {
      const db = firestoreClient(projectId("raw-ingest"));
      const telemetry = db.collection("telemetry");
      let points = 0;
      const deadline = performance.now() + SECONDS * 1000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const { device, points: batchPoints } = nextBatch();
            const batch = db.batch();
            for (const point of batchPoints) {
              batch.set(
                telemetry.doc(telemetryPointId(TENANT, device.id, point.timestamp_ms)),
                pointDoc(device.id, point.timestamp_ms, point.metrics.zone_temp_c),
              );
            }
            await batch.commit();
            points += batchPoints.length;
          }
        }),
      );
      return points / ((performance.now() - t0) / 1000);
    };
    const httpIngest = async (): Promise<{ rate: number; non2xx: number; errors: number }> => {
      const result = await autocannon({
        url: server.url,
        connections: CONNECTIONS,
        duration: SECONDS,
        requests: [
          {
            method: "POST",
            setupRequest: (request: Record<string, unknown>) => {
              const { device, points } = nextBatch();
              return {
                ...request,
                path: `/api/devices/${device.id}/telemetry`,
                headers: {
                  "content-type": "application/json",
                  [HEADER]: TENANT,
                  authorization: `Bearer ${device.token}`,
                },
                body: JSON.stringify({ points }),
              };
            },
          },
        ],
      });
      return {
        rate: (result["2xx"] * POINTS_PER_REQUEST) / result.duration,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      };
    };
    phase(`ingest: raw SDK vs HTTP, ${CONNECTIONS} in flight, ${DEVICES} devices, 2 rounds of ${SECONDS} s…`);
    await rawIngest(); // warm-up of the write path, unmeasured
    const rawRates: number[] = [];
    const httpRates: number[] = [];
    let refused = 0;
    for (let round = 0; round < 2; round++) {
      rawRates.push(await rawIngest());
      const http = await httpIngest();
      httpRates.push(http.rate);
      refused += http.non2xx + http.errors;
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const ratio = mean(httpRates) / mean(rawRates);
    figures.push({
      what: `ingest through HTTP, ${CONNECTIONS} in flight, ${DEVICES} devices, ${POINTS_PER_REQUEST} points/request`,
      measured: `${mean(httpRates).toFixed(0)} points/s (${refused} non-202)`,
      baseline: `raw SDK batch writes ${mean(rawRates).toFixed(0)} points/s`,
      ratio: `${ratio.toFixed(2)}×`,
      target: "≥ 0.7×",
      met: ratio >= 0.7 && refused === 0,
    });
  } finally {
    await server.stop();
  }
}

// 4 + 5. Billed reads: counted by the stores' usage recorder in an in-process server on a real port.
async function countingPhases(): Promise<void> {
  const usage = new UsageTally();
  let offsetMs = 0;
  let printed = "";
  const config = loadConfig({
    FIREBRICK_DATA_DIR: tempDir("count"),
    FIRESTORE_EMULATOR_HOST: emulator.hostPort,
    GOOGLE_CLOUD_PROJECT: projectId("count"),
    USE_FIRESTORE_TELEMETRY: "1",
    USE_FIRESTORE_AUDIT: "1",
    USE_FIRESTORE_AUTH: "1",
    DEVICE_WRITES_PER_MINUTE: "100000",
    PORT: "0",
  });
  const silent = createLogger(
    "silent",
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  );
  const server = await startServer(config, silent, {
    usage,
    clock: () => Date.now() + offsetMs,
    print: (text) => {
      printed += text;
    },
  });
  try {
    const password = /Password \(shown once[^)]*\): (\S+)/.exec(printed)![1]!;
    const admin = await login(server.url, "admin", password);
    const { device, token } = (await call(server.url, "POST", "/api/devices", {
      cookie: admin,
      body: { name: "dashboard" },
      expect: 201,
    })) as { device: { id: string }; token: string };
    const now = Date.now();
    await call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
      bearer: token,
      body: {
        points: Array.from({ length: 100 }, (_, i) => ({
          timestamp_ms: now - (100 - i) * 5000,
          metrics: { t: i },
        })),
      },
      expect: 202,
    });
    const telemetryReads = () =>
      [...usage.byArea]
        .filter(([key]) => key.endsWith(":telemetry"))
        .reduce((sum, [, u]) => sum + u.reads, 0);

    // Naive: the query a dashboard poll would run without the server's latest-points cache.
    usage.reset();
    await server.stores.router.stores.telemetry.latest(TENANT, device.id, 100);
    const naive = usage.reads;

    const polls = 12;
    await call(server.url, "GET", `/api/devices/${device.id}/telemetry?limit=100`, { cookie: admin });
    usage.reset();
    for (let i = 0; i < polls; i++) {
      offsetMs += 5000; // a dashboard polls every 5 s
      await call(server.url, "GET", `/api/devices/${device.id}/telemetry?limit=100`, { cookie: admin });
    }
    const perPoll = telemetryReads() / polls;
    const allPerPoll = usage.reads / polls;
    figures.push({
      what: "billed telemetry reads per dashboard poll, no new data",
      measured: `${perPoll.toFixed(2)} (all areas incl. session: ${allPerPoll.toFixed(2)})`,
      baseline: `naive latest-100 query ${naive}`,
      ratio: `${(perPoll / naive).toFixed(3)}×`,
      target: "≤ 1 read",
      met: perPoll <= 1,
    });

    // The same polls against the latest-points cache component itself (telemetry/latest-cache.ts), which
    // the route serves from: the cache's own cost, apart from the HTTP layer.
    const cache = new LatestTelemetryCache(() => server.stores.router.stores.telemetry, {
      clock: () => Date.now() + offsetMs,
    });
    await cache.latest(TENANT, device.id, 100);
    usage.reset();
    for (let i = 0; i < polls; i++) {
      offsetMs += 5000;
      if ((await cache.latest(TENANT, device.id, 100)).length !== 100) throw new Error("cache lost points");
    }
    const cachedPerPoll = telemetryReads() / polls;
    figures.push({
      what: "same polls on LatestTelemetryCache directly (the cache the route uses)",
      measured: cachedPerPoll.toFixed(2),
      baseline: `naive latest-100 query ${naive}`,
      ratio: `${(cachedPerPoll / naive).toFixed(3)}×`,
      target: "≤ 1 read",
      met: cachedPerPoll <= 1,
    });

    // Authenticated requests one simulated second apart. Reads are counted inside one minute after the
    // idle clock was refreshed (a pure session check); session writes over three minutes.
    const me = () => call(server.url, "GET", "/api/auth/me", { cookie: admin });
    const sessionWrites = () =>
      [...usage.byArea]
        .filter(([key]) => key.endsWith(":sessions"))
        .reduce((sum, [, u]) => sum + u.writes, 0);
    await me();
    offsetMs += 61_000;
    await me(); // refreshes the idle clock
    usage.reset();
    const checks = 50;
    for (let i = 0; i < checks; i++) {
      offsetMs += 1000;
      await me();
    }
    const readsPerRequest = usage.reads / checks;
    const readAreas = [...usage.byArea].map(([key, u]) => `${key} ${u.reads}`).join(", ");
    figures.push({
      what: "document reads per authenticated request (GET /api/auth/me)",
      measured: `${readsPerRequest.toFixed(2)} (${readAreas})`,
      baseline: "—",
      ratio: "—",
      target: "≤ 1 read",
      met: readsPerRequest <= 1,
    });
    usage.reset();
    const minutes = 3;
    for (let i = 0; i < minutes * 60; i++) {
      offsetMs += 1000;
      await me();
    }
    const writesPerMinute = sessionWrites() / minutes;
    figures.push({
      what: `session writes per minute, one request a second for ${minutes} min`,
      measured: writesPerMinute.toFixed(2),
      baseline: "60 if every request wrote",
      ratio: `${(writesPerMinute / 60).toFixed(3)}×`,
      target: "≤ 1 per session per minute",
      met: writesPerMinute <= 1,
    });
  } finally {
    await server.close();
  }
}

// 6. Peak RSS of `firebrick serve` (production Argon2id: 64 MiB per hash) under 100 concurrent logins.
async function loginFloodPhase(): Promise<void> {
  const env = { dataDir: tempDir("rss"), emulatorHost: emulator.hostPort, projectId: projectId("rss") };
  phase(`login flood: creating ${LOGINS} users (production Argon2id)…`);
  const setup = await startServerProcess(env);
  const password = "bench password 1234";
  try {
    const admin = await login(setup.url, "admin", setup.adminPassword!);
    for (let i = 0; i < LOGINS; i += 4) {
      await Promise.all(
        [0, 1, 2, 3].map((j) =>
          call(setup.url, "POST", "/api/users", {
            cookie: admin,
            body: { username: `viewer${i + j}`, password, role: "viewer" },
            expect: 201,
          }),
        ),
      );
    }
  } finally {
    await setup.stop();
  }
  // A fresh process, so that its high-water mark covers only start-up and the flood.
  const server = await startServerProcess(env);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = server.memory().rss;
    const port = Number(new URL(server.url).port);
    const body = (i: number) => JSON.stringify({ username: `viewer${i}`, password });
    // Each login from its own loopback address: the per-IP failure limit must not turn the flood away.
    const statuses = await Promise.all(
      Array.from(
        { length: LOGINS },
        (_, i) =>
          new Promise<number>((resolve, reject) => {
            const request = httpRequest(
              {
                host: "127.0.0.1",
                port,
                method: "POST",
                path: "/api/auth/login",
                localAddress: `127.0.${Math.floor((i + 2) / 250)}.${((i + 2) % 250) + 1}`,
                headers: { "content-type": "application/json", [HEADER]: TENANT },
              },
              (response) => {
                response.resume();
                response.once("end", () => resolve(response.statusCode ?? 0));
              },
            );
            request.once("error", reject);
            request.end(body(i));
          }),
      ),
    );
    const { peak } = server.memory();
    const ok = statuses.filter((status) => status === 200).length;
    const naive = idle + LOGINS * 64 * MiB;
    figures.push({
      what: `peak RSS of the server under ${LOGINS} concurrent logins (${ok} × 200)`,
      measured: `${(peak / MiB).toFixed(0)} MiB (idle ${(idle / MiB).toFixed(0)} MiB)`,
      baseline: `unbounded hashing ≈ ${(naive / MiB).toFixed(0)} MiB`,
      ratio: `${(peak / naive).toFixed(2)}×`,
      target: "well under 1 GiB",
      met: peak < 1024 * MiB && ok === LOGINS,
    });
  } finally {
    await server.stop();
  }
}

function table(): string {
  const header = ["figure", "measured", "baseline (same run)", "ratio", "target", "met"];
  const rows = figures.map((f) => [f.what, f.measured, f.baseline, f.ratio, f.target, f.met ? "yes" : "NO"]);
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

try {
  await lockPhase();
  await httpPhases();
  phase("billed reads: dashboard polls and authenticated requests…");
  await countingPhases();
  await loginFloodPhase();
} finally {
  await Promise.all(clients.map((db) => db.terminate()));
  await emulator.stop();
}

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}`;
const stamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const results = `Measured ${stamp} (UTC) on ${machine}; the whole run took ${minutes} min.\n\n${table()}\n`;
console.log(`\n${results}`);
if (process.env.BENCH_NO_README !== "1") {
  const readme = join(root, "bench", "README.md");
  const text = readFileSync(readme, "utf8");
  const marked = /(<!-- results:start -->\n)[\s\S]*?(<!-- results:end -->)/;
  if (!marked.test(text)) throw new Error("bench/README.md lost its results markers");
  writeFileSync(readme, text.replace(marked, `$1${results}$2`));
  // Biome formats Markdown too (its tables padded), and `npm test` runs `biome ci`.
  spawnSync(
    process.execPath,
    [join(root, "node_modules/@biomejs/biome/bin/biome"), "format", "--write", readme],
    {
      stdio: "ignore",
    },
  );
  log("results written to bench/README.md");
}
// A missed target is a finding, printed as "NO"; BENCH_STRICT=1 turns it into a failing exit status.
if (process.env.BENCH_STRICT === "1" && figures.some((f) => !f.met)) process.exitCode = 1;
