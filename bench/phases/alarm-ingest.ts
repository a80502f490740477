import type { Phase } from "../lib/context.js";
import { startCountingServer } from "../lib/counting-server.js";
import { type Figure, num, ratio, withRange } from "../lib/figure.js";
import { BatchSource, httpIngest } from "../lib/ingest-load.js";
import { alternate, over, paired } from "../lib/paired.js";
import { type Device, startService } from "../lib/service.js";
import { call, login } from "../server-process.js";

const CONNECTIONS = 32;
const DEVICES = 32;
const POINTS_PER_REQUEST = 10;
/** Requests per side in the billed count. */
const COUNTED_REQUESTS = 50;

/**
 * Threshold rules on both metrics `BatchSource` writes (zone_temp_c 21–23, co2_ppm 450–459), never crossed:
 * what every write of a watched device pays in the steady state (docs/design/alarms.md, "Costs").
 */
const RULES = [
  { metric: "zone_temp_c", op: ">", threshold: 30, for_ms: 300_000, severity: "major" },
  { metric: "co2_ppm", op: "outside", min: 300, max: 2000, for_ms: 0, severity: "critical" },
] as const;

async function addRules(url: string, cookie: string, devices: readonly Device[]): Promise<void> {
  for (const device of devices) {
    for (const rule of RULES) {
      await call(url, "POST", "/api/alarm-rules", {
        cookie,
        body: { device_id: device.id, ...rule },
        expect: 201,
      });
    }
  }
}

/**
 * Ingest of devices watched by alarm rules against the same ingest of devices without rules, in one
 * `firebrick serve` on Firestore (half its devices with two threshold rules each on the metrics written),
 * rounds alternated (lib/paired.ts); then what a request bills on each, counted by the stores' usage
 * recorder in an in-process server.
 */
export const alarmIngestPhase: Phase = {
  name: "alarm-ingest",
  title: `ingest of devices with alarm rules vs without (Firestore, ${CONNECTIONS} in flight)`,
  async run(bench) {
    const { server, admin, devices } = await startService(bench, {
      label: "alarm-ingest",
      store: "firestore",
      devices: DEVICES * 2,
      deviceWritesPerMinute: 100_000,
    });
    const plain = devices.slice(0, DEVICES);
    const watched = devices.slice(DEVICES);
    await addRules(server.url, admin, watched);
    const sources = {
      plain: new BatchSource(plain, POINTS_PER_REQUEST),
      watched: new BatchSource(watched, POINTS_PER_REQUEST),
    };
    const ingest = (source: BatchSource) => () =>
      httpIngest(server.url, { connections: CONNECTIONS, seconds: bench.seconds, source });
    const rounds = await alternate(
      { plain: ingest(sources.plain), watched: ingest(sources.watched) },
      { rounds: bench.rounds, warmup: 1 },
    );
    const r = paired(rounds.watched, rounds.plain, (round) => round.rate);
    const refused = [...rounds.watched, ...rounds.plain].reduce((sum, round) => sum + round.refused, 0);
    const figures: Figure[] = [
      {
        what: `ingest, devices with ${RULES.length} threshold rules each (${DEVICES} devices, ${POINTS_PER_REQUEST} points/request, ${CONNECTIONS} in flight, Firestore)`,
        measured: `${withRange(
          over(rounds.watched, (round) => round.rate),
          "points/s",
        )} (${num(refused)} non-202)`,
        baseline: `same devices without rules ${withRange(
          over(rounds.plain, (round) => round.rate),
          "points/s",
        )}`,
        ratio: ratio(r),
        target: "(measured)",
        met: refused === 0 ? null : false,
      },
    ];

    // Billed reads and writes per request, each side on a device of its own.
    const counting = await startCountingServer(bench, "alarm-bill", Date.now);
    try {
      const cookie = await login(counting.server.url, "admin", counting.adminPassword);
      const create = async (name: string) => {
        const created = (await call(counting.server.url, "POST", "/api/devices", {
          cookie,
          body: { name },
          expect: 201,
        })) as { device: { id: string }; token: string };
        return { id: created.device.id, token: created.token };
      };
      const counted = { plain: [await create("plain")], watched: [await create("watched")] };
      await addRules(counting.server.url, cookie, counted.watched);
      const bill = async (side: keyof typeof counted) => {
        const source = new BatchSource(counted[side], POINTS_PER_REQUEST);
        const send = async () => {
          const { device, points } = source.next();
          await call(counting.server.url, "POST", `/api/devices/${device.id}/telemetry`, {
            bearer: device.token,
            body: { points },
            expect: 202,
          });
        };
        await send(); // the device's first write fills the caches (its directory entry, its rules)
        counting.usage.reset();
        for (let i = 0; i < COUNTED_REQUESTS; i++) await send();
        const alarms = [...counting.usage.byArea]
          .filter(([key]) => key.endsWith(":alarms"))
          .reduce(
            (sum, [, usage]) => ({ reads: sum.reads + usage.reads, writes: sum.writes + usage.writes }),
            {
              reads: 0,
              writes: 0,
            },
          );
        return {
          reads: counting.usage.reads / COUNTED_REQUESTS,
          writes: counting.usage.writes / COUNTED_REQUESTS,
          alarmReads: alarms.reads / COUNTED_REQUESTS,
          alarmWrites: alarms.writes / COUNTED_REQUESTS,
        };
      };
      const without = await bill("plain");
      const withRules = await bill("watched");
      figures.push({
        what: `billed reads / writes per ${POINTS_PER_REQUEST}-point request, device with ${RULES.length} threshold rules`,
        measured: `${withRules.reads.toFixed(2)} / ${withRules.writes.toFixed(2)} (alarms: ${withRules.alarmReads.toFixed(2)} / ${withRules.alarmWrites.toFixed(2)})`,
        baseline: `without rules ${without.reads.toFixed(2)} / ${without.writes.toFixed(2)}`,
        ratio: "—",
        // One read per rule whose metric the request carries, and no write while nothing crosses (the
        // state is written once a minute of readings; docs/design/alarms.md, "Costs"), plus, now and then,
        // the device's rule list on a cache miss.
        target: `alarms ≤ ${RULES.length} reads (one per rule), ≤ 0.1 writes while nothing crosses`,
        met: withRules.alarmReads <= RULES.length * 1.1 && withRules.alarmWrites <= 0.1,
      });
    } finally {
      await counting.server.close();
    }
    return figures;
  },
};
