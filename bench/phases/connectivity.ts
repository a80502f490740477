import { Connectivity } from "../../packages/server/src/devices/connectivity.js";
import { cacheShares } from "../../packages/server/src/service.js";
import type { Device } from "../../packages/server/src/stores/types.js";
import type { Phase } from "../lib/context.js";
import { startCountingServer } from "../lib/counting-server.js";
import type { Figure } from "../lib/figure.js";
import { call, login, TENANT } from "../server-process.js";

/** M devices, each sending a request every `PACE_MS` with `POINTS` points, for `MINUTES` simulated minutes. */
const DEVICES = 10;
const PACE_MS = 2000;
const POINTS = 2;
const MINUTES = 10;
const INSTANCES = 3;

/**
 * Connectivity writes (devices/connectivity.ts, issue 19): `last_seen_ms` must cost at most one billed write
 * per device per minute whatever the ingest rate. An in-process server on a real port, every area on
 * Firestore, the stores' usage recorder counting billed writes, a clock the bench moves; then the same
 * traffic shared by several instances' connectivity components over one Firestore project. Counts, not
 * times: no rounds needed.
 */
export const connectivityPhase: Phase = {
  name: "connectivity",
  title: "connectivity: billed last_seen_ms writes per device per minute (Firestore)",
  async run(bench) {
    // Simulated time only: real time passing during the run would add writes the traffic did not cause.
    const start = Date.now();
    let offsetMs = 0;
    const now = () => start + offsetMs;
    const { server, config, usage, adminPassword } = await startCountingServer(bench, "connectivity", now);
    const devicesWrites = () =>
      [...usage.byArea].filter(([key]) => key.endsWith(":devices")).reduce((sum, [, u]) => sum + u.writes, 0);
    const figures: Figure[] = [];
    try {
      const admin = await login(server.url, "admin", adminPassword);
      const fleet: { device: { id: string }; token: string }[] = [];
      for (let i = 0; i < DEVICES; i++) {
        fleet.push(
          (await call(server.url, "POST", "/api/devices", {
            cookie: admin,
            body: { name: `AHU-${i}` },
            expect: 201,
          })) as { device: { id: string }; token: string },
        );
      }

      // One instance: every device writes at its pace through HTTP. The first request of each device
      // writes last_seen_ms at once (first contact); counted are the writes of the MINUTES after it.
      const tick = () =>
        Promise.all(
          fleet.map(({ device, token }) =>
            call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
              bearer: token,
              body: {
                points: Array.from({ length: POINTS }, (_, i) => ({
                  timestamp_ms: now() - (POINTS - i) * 100,
                  metrics: { zone_temp_c: 21 },
                })),
              },
              expect: 202,
            }),
          ),
        );
      await tick();
      usage.reset();
      let requests = 0;
      for (let elapsed = 0; elapsed < MINUTES * 60_000; elapsed += PACE_MS) {
        offsetMs += PACE_MS;
        await tick();
        requests += DEVICES;
      }
      const single = devicesWrites() / DEVICES / MINUTES;
      const requestsPerMinute = requests / DEVICES / MINUTES;
      figures.push({
        what: `last_seen_ms writes per device per minute, ${DEVICES} devices × ${(requestsPerMinute * POINTS).toFixed(0)} points/min for ${MINUTES} simulated min, 1 instance`,
        measured: single.toFixed(2),
        baseline: `${requestsPerMinute.toFixed(0)} if every request wrote`,
        ratio: `${(single / requestsPerMinute).toFixed(3)}×`,
        target: "≤ 1",
        met: single <= 1,
      });
      // Half a minute more of traffic, so that the lag is measured between two writes of last_seen_ms.
      for (let elapsed = 0; elapsed < 30_000; elapsed += PACE_MS) {
        offsetMs += PACE_MS;
        await tick();
      }
      const lags = await Promise.all(
        fleet.map(async ({ device }) => {
          const stored = await server.stores.router.stores.devices.get(TENANT, device.id);
          return now() - (stored?.last_seen_ms ?? 0);
        }),
      );
      figures.push({
        what: "last_seen_ms behind the latest accepted write, at the end",
        measured: `${(Math.max(...lags) / 1000).toFixed(0)} s at most`,
        baseline: "—",
        ratio: "—",
        target: "< 60 s (kept to the minute)",
        met: Math.max(...lags) < 60_000,
      });

      // N instances sharing the same traffic round-robin: each instance's connectivity component over the
      // same Firestore project (what N servers behind a load balancer each run).
      const instances = Array.from(
        { length: INSTANCES },
        () =>
          new Connectivity(() => server.stores.router.stores.devices, {
            clock: now,
            offlineAfterMs: config.deviceOfflineAfterMs,
            maxBytes: cacheShares(config.cacheMemoryBytes).connectivity,
          }),
      );
      const devices = (await Promise.all(
        fleet.map(({ device }) => server.stores.router.stores.devices.get(TENANT, device.id)),
      )) as Device[];
      usage.reset();
      let turn = 0;
      for (let elapsed = 0; elapsed < MINUTES * 60_000; elapsed += PACE_MS) {
        offsetMs += PACE_MS;
        await Promise.all(devices.map((device) => instances[turn++ % INSTANCES]!.seen(device)));
      }
      const shared = devicesWrites() / DEVICES / MINUTES;
      figures.push({
        what: `same traffic shared by ${INSTANCES} instances (round-robin)`,
        measured: shared.toFixed(2),
        baseline: `${requestsPerMinute.toFixed(0)} if every request wrote`,
        ratio: `${(shared / requestsPerMinute).toFixed(3)}×`,
        target: `≤ 1 per instance (≤ ${INSTANCES})`,
        met: shared <= INSTANCES,
      });
    } finally {
      await server.close();
    }
    return figures;
  },
};
