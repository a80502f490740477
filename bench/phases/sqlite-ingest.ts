import { forkChild, startFastifyFloor } from "../lib/children.js";
import type { Phase } from "../lib/context.js";
import { type Figure, num, ratio, withRange } from "../lib/figure.js";
import { BatchSource, httpIngest } from "../lib/ingest-load.js";
import { alternate, over, paired } from "../lib/paired.js";
import { startService } from "../lib/service.js";

const CONNECTIONS = 32;
const DEVICES = 1000;
/** Points per request, and the target of each against the raw loop (issue 21). */
const SIZES = [
  { points: 1, target: 0.8 },
  { points: 50, target: 0.9 },
] as const;

/** What the raw loop child answers for a round. */
interface RawResult {
  rate: number;
  points: number;
  cpuSeconds: number;
  p999: number;
  max: number;
}

/** One side's round: acknowledged points per second, CPU per point, refusals, latency tail (ms). */
interface Side {
  rate: number;
  cpuUsPerPoint: number;
  refused: number;
  p999: number;
  max: number;
}

/**
 * The embedded default's write path: `firebrick serve` on SQLite (1,000 devices, 32 connections) against
 * a raw better-sqlite3 loop writing the same rows into a database opened the same way
 * (bench/children/raw-sqlite-ingest.ts, one transaction per request), and against a bare Fastify server
 * that parses the same JSON and answers 202 (bench/children/fastify-floor.mjs). Three sides, rounds
 * alternated (lib/paired.ts); also the server's CPU per point and the write latency tail.
 */
export const sqliteIngestPhase: Phase = {
  name: "sqlite-ingest",
  title: `SQLite ingest through HTTP vs a raw better-sqlite3 loop and a bare Fastify floor (${CONNECTIONS} connections)`,
  async run(bench) {
    const { server, devices } = await startService(bench, {
      label: "sqlite-ingest",
      store: "sqlite",
      devices: DEVICES,
      // The limiter (5 points a minute per device by default) would otherwise be what is measured.
      deviceWritesPerMinute: 100_000,
    });
    const floor = await startFastifyFloor(bench);
    const raw = await forkChild<RawResult>(bench, "bench/children/raw-sqlite-ingest.ts");
    await raw.request({
      type: "open",
      dataDir: bench.tempDir("sqlite-raw"),
      deviceIds: devices.map((d) => d.id),
    });
    const figures: Figure[] = [];
    for (const size of SIZES) {
      bench.log(
        `${size.points} point(s)/request: raw, HTTP and floor, ${bench.rounds} rounds of ${bench.seconds} s…`,
      );
      await raw.request({ type: "points", pointsPerRequest: size.points });
      const source = new BatchSource(devices, size.points);
      // Every side answers the same shape; CPU per point is the process's user + system time over the
      // points acknowledged (the server's, the floor's, the raw loop's own).
      const timed = async (url: string, cpuSeconds: () => number): Promise<Side> => {
        const cpu0 = cpuSeconds();
        const result = await httpIngest(url, { connections: CONNECTIONS, seconds: bench.seconds, source });
        const points = result.rate * result.seconds;
        return { ...result, cpuUsPerPoint: ((cpuSeconds() - cpu0) * 1e6) / points };
      };
      const rawRun = async (): Promise<Side> => {
        const result = await raw.request({ type: "run", seconds: bench.seconds });
        return { ...result, refused: 0, cpuUsPerPoint: (result.cpuSeconds * 1e6) / result.points };
      };
      const rounds = await alternate(
        {
          raw: rawRun,
          http: () => timed(server.url, () => server.cpuSeconds()),
          floor: () => timed(floor.url, () => floor.cpuSeconds()),
        },
        { rounds: bench.rounds, warmup: 1 },
      );
      const rate = (side: Side) => side.rate;
      const cpu = (side: Side) => side.cpuUsPerPoint;
      const refused = rounds.http.reduce((sum, round) => sum + round.refused, 0);
      const label = `${size.points} point${size.points === 1 ? "" : "s"}/request`;
      const vsRaw = paired(rounds.http, rounds.raw, rate);
      figures.push({
        what: `SQLite ingest through HTTP, ${label}, ${CONNECTIONS} connections, ${DEVICES} devices`,
        measured: `${withRange(over(rounds.http, rate), "points/s")} (${num(refused)} non-202)`,
        baseline: `raw better-sqlite3, a transaction per request: ${withRange(over(rounds.raw, rate), "points/s")}`,
        ratio: ratio(vsRaw),
        target: `≥ ${size.target}×`,
        met: vsRaw.median >= size.target && refused === 0,
      });
      figures.push({
        what: `same, against a bare Fastify floor (${label})`,
        measured: withRange(over(rounds.http, rate), "points/s"),
        baseline: `bare Fastify, parse + 202: ${withRange(over(rounds.floor, rate), "points/s")}`,
        ratio: ratio(paired(rounds.http, rounds.floor, rate)),
        target: "(the ceiling of any HTTP path here)",
        met: null,
      });
      const cpuVsRaw = paired(rounds.http, rounds.raw, cpu);
      figures.push({
        what: `server CPU per point, ${label}`,
        measured: withRange(over(rounds.http, cpu), "µs"),
        baseline: `raw loop ${withRange(over(rounds.raw, cpu), "µs")}; floor ${withRange(over(rounds.floor, cpu), "µs")}`,
        ratio: ratio(cpuVsRaw),
        target: size.points === 1 ? "≤ 1.25× (issue 21)" : "—",
        met: size.points === 1 ? cpuVsRaw.median <= 1.25 : null,
      });
      if (size.points === 50) {
        const p999 = over(rounds.http, (round) => round.p999);
        figures.push({
          what: `p99.9 latency of a ${label} write through HTTP (${CONNECTIONS} in flight)`,
          measured: `${withRange(p999, "ms", 1)} (max ${num(Math.max(...rounds.http.map((r) => r.max)))} ms)`,
          baseline: `raw loop transaction p99.9 ${withRange(
            over(rounds.raw, (round) => round.p999),
            "ms",
            1,
          )}`,
          ratio: "—",
          target: "≤ 50 ms",
          met: p999.median <= 50,
        });
      }
    }
    await raw.request({ type: "close" }).catch(() => undefined);
    return figures;
  },
};
