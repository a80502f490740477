import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Phase } from "../lib/context.js";
import { type Figure, MiB, num, ratio, withRange } from "../lib/figure.js";
import { fire } from "../lib/ingest-load.js";
import { alternate, over, paired } from "../lib/paired.js";
import type { Device } from "../lib/service.js";
import { buildSqliteFixture } from "../lib/sqlite-fixture.js";
import { percentile } from "../lib/stats.js";
import { call, HEADER, login, startServerProcess, TENANT, USER_AGENT } from "../server-process.js";

const REQUESTS_PER_ROUND = 30;
const FLEETS = [10_000, 100_000] as const;

/** A server on a prebuilt SQLite data dir, signed in as the first run's admin. */
async function serveFixture(
  bench: Parameters<Phase["run"]>[0],
  label: string,
  fixture: Parameters<typeof buildSqliteFixture>[1],
) {
  const dataDir = bench.tempDir(label);
  const devices = buildSqliteFixture(dataDir, fixture);
  const server = await startServerProcess({ dataDir, deviceWritesPerMinute: 100_000 });
  bench.defer(() => server.stop());
  const admin = await login(server.url, "admin", server.adminPassword!);
  return { server, admin, devices };
}

/**
 * Growth of the embedded default (SQLite): the reads a dashboard makes at 10 k and at 1 M stored rows,
 * side by side (rounds alternated, lib/paired.ts), and the server's memory after 10 k and 100 k distinct
 * devices have written and dashboards have polled them, with what each per-device structure costs.
 */
export const growthPhase: Phase = {
  name: "growth",
  title: "SQLite reads at 10 k vs 1 M rows; server RSS after 10 k and 100 k devices; bytes per device",
  async run(bench) {
    const figures: Figure[] = [];
    bench.log("building fixtures: 10 k and 1 M rows of telemetry and of audit entries…");
    const small = await serveFixture(bench, "growth-10k", {
      devices: 100,
      pointsPerDevice: 100,
      auditEntries: 10_000,
    });
    const large = await serveFixture(bench, "growth-1m", {
      devices: 10_000,
      pointsPerDevice: 100,
      auditEntries: 1_000_000,
    });

    // The reads: the same requests (same device positions, same windows) against both servers.
    const now = Date.now();
    const reads = {
      "latest 100 (GET …/telemetry?limit=100)": (d: Device) => `/api/devices/${d.id}/telemetry?limit=100`,
      "a window page (…/telemetry?from&to&limit=50)": (d: Device) =>
        `/api/devices/${d.id}/telemetry?from=${now - 90 * 60_000}&to=${now - 30 * 60_000}&limit=50`,
      "an audit page (GET /api/audit?limit=100)": () => "/api/audit?limit=100",
      "an audit page by action (?action=…&limit=100)": () => "/api/audit?action=device.create&limit=100",
    } as const;
    type Kind = keyof typeof reads;
    let round = 0;
    const sample = (side: typeof small) => async () => {
      const p50: Partial<Record<Kind, number>> = {};
      for (const [kind, path] of Object.entries(reads) as Array<[Kind, (d: Device) => string]>) {
        const times: number[] = [];
        for (let i = 0; i < REQUESTS_PER_ROUND; i++) {
          const device = side.devices[(round * REQUESTS_PER_ROUND + i) % small.devices.length]!;
          const t0 = performance.now();
          await call(side.server.url, "GET", path(device), { cookie: side.admin });
          times.push(performance.now() - t0);
        }
        p50[kind] = percentile(times, 50);
      }
      return p50 as Record<Kind, number>;
    };
    bench.log("reads at 10 k vs 1 M rows…");
    const rounds = await alternate(
      { small: sample(small), large: sample(large) },
      { rounds: bench.rounds, warmup: 1, onRound: () => round++ },
    );
    for (const kind of Object.keys(reads) as Kind[]) {
      const r = paired(rounds.large, rounds.small, (p50) => p50[kind]);
      figures.push({
        what: `${kind}, p50 at 1 M stored rows`,
        measured: withRange(
          over(rounds.large, (p50) => p50[kind]),
          "ms",
          2,
        ),
        baseline: `at 10 k rows ${withRange(
          over(rounds.small, (p50) => p50[kind]),
          "ms",
          2,
        )}`,
        ratio: ratio(r),
        target: "flat (≤ 1.5×)",
        met: r.median <= 1.5,
      });
    }
    await small.server.stop();

    // Memory: every device of a fleet writes a point, then a dashboard polls each one's latest 100.
    for (const fleet of FLEETS) {
      const served =
        fleet === 10_000
          ? large
          : await serveFixture(bench, "growth-100k", { devices: fleet, pointsPerDevice: 0, auditEntries: 0 });
      const idle = served.server.memory().rss;
      bench.log(`${num(fleet)} devices: a write each, then a dashboard poll each…`);
      const devices = served.devices;
      await fire(served.server.url, {
        connections: 32,
        amount: fleet,
        build: (i) => ({
          method: "POST",
          path: `/api/devices/${devices[i % fleet]!.id}/telemetry`,
          headers: {
            "content-type": "application/json",
            [HEADER]: TENANT,
            authorization: `Bearer ${devices[i % fleet]!.token}`,
          },
          body: JSON.stringify({
            points: [{ timestamp_ms: Date.now() - 1000, metrics: { zone_temp_c: 21.5 } }],
          }),
        }),
      });
      await fire(served.server.url, {
        connections: 32,
        amount: fleet,
        build: (i) => ({
          method: "GET",
          path: `/api/devices/${devices[i % fleet]!.id}/telemetry?limit=100`,
          headers: { [HEADER]: TENANT, cookie: served.admin, "user-agent": USER_AGENT },
        }),
      });
      const { rss } = served.server.memory();
      figures.push({
        what: `server RSS after ${num(fleet)} devices wrote and were polled (latest 100)`,
        measured: `${num(rss / MiB)} MiB (+${num((rss - idle) / MiB)} MiB, ${num((rss - idle) / fleet)} B per device)`,
        baseline: `idle ${num(idle / MiB)} MiB; ${fleet === 10_000 ? "100 points stored per device" : "1 point per device"}`,
        ratio: "—",
        target: "fits 512 MiB with room (issue 21)",
        met: rss < 384 * MiB,
      });
      await served.server.stop();
    }

    // What each per-device structure holds per entry, measured on its own (bench/children/structure-sizes.ts).
    const sizes = JSON.parse(
      execFileSync(
        process.execPath,
        ["--expose-gc", "--import", "tsx", join(bench.root, "bench/children/structure-sizes.ts"), "10000"],
        { cwd: bench.root, encoding: "utf8" },
      ),
    ) as Record<string, number>;
    figures.push({
      what: "bytes per device held in memory, by structure (10 k entries each; heap measured, and the structure's own estimate)",
      measured:
        `latest-points cache ${num(sizes.latestCache100Points!)} B (100 points; estimate ${num(sizes.latestCacheEstimate!)} B); ` +
        `device directory ${num(sizes.deviceDirectory!)} B (estimate ${num(sizes.deviceDirectoryEstimate!)} B); ` +
        `fleet limiter record ${num(sizes.fleetLimiter!)} B`,
      baseline: `sign-in record held (username + one address): ${num(sizes.signInRecord!)} B; before: latest-points 14,725 B`,
      ratio: "—",
      target: "bounded by memory: FIREBRICK_CACHE_MEMORY_MIB (issue 21)",
      met: null,
    });
    return figures;
  },
};
