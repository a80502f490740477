import { raiseAlarm, scratchRule } from "../../packages/server/src/alarms/testing/scratch.js";
import { LatestTelemetryCache } from "../../packages/server/src/telemetry/latest-cache.js";
import type { Phase } from "../lib/context.js";
import { startCountingServer } from "../lib/counting-server.js";
import type { Figure } from "../lib/figure.js";
import { call, login, TENANT } from "../server-process.js";

/** Active alarms the badge counts: more than a 200-alarm page, so that the old poll's cost shows. */
const ACTIVE_ALARMS = [0, 20, 250] as const;

/** The default device write limit (docs/design/telemetry.md: 5 points a minute): one point every 12 s. */
const DEFAULT_PACE_MS = 60_000 / 5;

/**
 * Billed reads, counted by the stores' usage recorder (`usage` option of `startServer`) in an in-process
 * server on a real port, every area on Firestore, with a clock the bench moves: dashboard polls, session
 * checks and writes, and a device writing at the default pace. Counts, not times: no rounds needed.
 */
export const billedReadsPhase: Phase = {
  name: "billed-reads",
  title: "billed reads: dashboard polls, session checks, paced device writes (Firestore)",
  async run(bench) {
    let offsetMs = 0;
    const { server, usage, adminPassword } = await startCountingServer(
      bench,
      "count",
      () => Date.now() + offsetMs,
    );
    const figures: Figure[] = [];
    try {
      const admin = await login(server.url, "admin", adminPassword);
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
      // A point written less than 2 s before a refresh may be read once more by the next one (Firestore's
      // write time is a little before its commit, docs/design/fleet.md): "no new data" starts after that.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const readsIn = (suffix: string) =>
        [...usage.byArea].filter(([key]) => key.endsWith(suffix)).reduce((sum, [, u]) => sum + u.reads, 0);

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
      const perPoll = readsIn(":telemetry") / polls;
      figures.push({
        what: "billed telemetry reads per dashboard poll, no new data",
        measured: `${perPoll.toFixed(2)} (all areas incl. session: ${(usage.reads / polls).toFixed(2)})`,
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
      const cachedPerPoll = readsIn(":telemetry") / polls;
      figures.push({
        what: "same polls on LatestTelemetryCache directly (the cache the route uses)",
        measured: cachedPerPoll.toFixed(2),
        baseline: `naive latest-100 query ${naive}`,
        ratio: `${(cachedPerPoll / naive).toFixed(3)}×`,
        target: "≤ 1 read",
        met: cachedPerPoll <= 1,
      });

      // A device writing one point at the default pace: what device authentication bills per request.
      const writes = 50;
      usage.reset();
      for (let i = 0; i < writes; i++) {
        offsetMs += DEFAULT_PACE_MS;
        await call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
          bearer: token,
          body: { points: [{ timestamp_ms: Date.now() + offsetMs - 1000, metrics: { t: i } }] },
          expect: 202,
        });
      }
      const readsPerWrite = usage.reads / writes;
      figures.push({
        what: "billed reads per telemetry request, a device at the default pace (1 point / 12 s)",
        measured: `${readsPerWrite.toFixed(2)} (devices ${readsIn(":devices")}, limiter ${readsIn(":fleet")} over ${writes} requests)`,
        baseline: "1 if every request read its device",
        ratio: `${readsPerWrite.toFixed(2)}×`,
        target: "≤ 0.1 (issue 21)",
        met: readsPerWrite <= 0.1,
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

      // The header's alarm badge, polled every 30 s: the count aggregation (`GET /api/alarms/count`)
      // against the page of active alarms it used to list (`GET /api/alarms?state=active&limit=200`, one
      // read per alarm), at 0, 20 and 250 active alarms. The alarms are raised through the store (a rule
      // per alarm, as the evaluator raises them), not through 250 devices' writes.
      const badgeDevice = (await call(server.url, "POST", "/api/devices", {
        cookie: admin,
        body: { name: "badge" },
        expect: 201,
      })) as { device: { id: string } };
      const alarmsStore = server.stores.alarms;
      let raised = 0;
      const readsOf = async (path: string) => {
        await call(server.url, "GET", path, { cookie: admin }); // the session's idle refresh, once
        usage.reset();
        await call(server.url, "GET", path, { cookie: admin });
        return readsIn(":alarms");
      };
      for (const target of ACTIVE_ALARMS) {
        while (raised < target) {
          const rule = await alarmsStore.createRule(TENANT, scratchRule(badgeDevice.device.id), null);
          await raiseAlarm(alarmsStore, TENANT, rule, Date.now() + offsetMs);
          raised += 1;
        }
        const counted = await readsOf("/api/alarms/count?state=active");
        const listed = await readsOf("/api/alarms?state=active&limit=200");
        figures.push({
          what: `billed reads per alarm-badge poll, ${target} active alarms (count vs listing them)`,
          measured: String(counted),
          baseline: `listing a page of active alarms ${listed}`,
          ratio: `${(counted / listed).toFixed(3)}×`,
          target: "1 read per 1,000 alarms, at least 1",
          met: counted === Math.max(1, Math.ceil(target / 1000)),
        });
      }
    } finally {
      await server.close();
    }
    return figures;
  },
};
