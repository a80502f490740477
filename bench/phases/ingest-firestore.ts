import { Timestamp } from "@google-cloud/firestore";
import { telemetryPointId } from "../../packages/server/src/stores/keys.js";
import { TELEMETRY_RETENTION_MS } from "../../packages/server/src/stores/types.js";
import type { Phase } from "../lib/context.js";
import { num, ratio, withRange } from "../lib/figure.js";
import { BatchSource, httpIngest } from "../lib/ingest-load.js";
import { alternate, over, paired } from "../lib/paired.js";
import { startService } from "../lib/service.js";
import { TENANT } from "../server-process.js";

const CONNECTIONS = 32;
const DEVICES = 64;
const POINTS_PER_REQUEST = 10;

/**
 * Ingest through `firebrick serve` (every area on Firestore) against raw SDK batched writes of the same
 * documents at the same concurrency, each raw round in a fresh project; rounds alternated (lib/paired.ts).
 */
export const ingestFirestorePhase: Phase = {
  name: "ingest-firestore",
  title: `ingest through HTTP vs raw SDK batch writes (Firestore, ${CONNECTIONS} in flight)`,
  async run(bench) {
    const { server, devices } = await startService(bench, {
      label: "ingest",
      store: "firestore",
      devices: DEVICES,
      // The service's own limiter would otherwise measure itself (5 points a minute per device).
      deviceWritesPerMinute: 100_000,
    });
    const source = new BatchSource(devices, POINTS_PER_REQUEST);
    const raw = async () => {
      const db = await bench.firestore(bench.projectId("raw-ingest"));
      const telemetry = db.collection("telemetry");
      let points = 0;
      const t0 = performance.now();
      const deadline = t0 + bench.seconds * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const { device, points: batchPoints } = source.next();
            const batch = db.batch();
            for (const point of batchPoints) {
              batch.set(telemetry.doc(telemetryPointId(TENANT, device.id, point.timestamp_ms)), {
                tenant_id: TENANT,
                device_id: device.id,
                timestamp_ms: point.timestamp_ms,
                metrics: point.metrics,
                source: "api",
                expire_at: Timestamp.fromMillis(point.timestamp_ms + TELEMETRY_RETENTION_MS),
              });
            }
            await batch.commit();
            points += batchPoints.length;
          }
        }),
      );
      return { rate: points / ((performance.now() - t0) / 1000), refused: 0 };
    };
    const http = () => httpIngest(server.url, { connections: CONNECTIONS, seconds: bench.seconds, source });
    const rounds = await alternate({ raw, http }, { rounds: bench.rounds, warmup: 1 });
    const r = paired(rounds.http, rounds.raw, (round) => round.rate);
    const refused = rounds.http.reduce((sum, round) => sum + round.refused, 0);
    return [
      {
        what: `ingest through HTTP (Firestore), ${CONNECTIONS} in flight, ${DEVICES} devices, ${POINTS_PER_REQUEST} points/request`,
        measured: `${withRange(
          over(rounds.http, (round) => round.rate),
          "points/s",
        )} (${num(refused)} non-202)`,
        baseline: `raw SDK batch writes ${withRange(
          over(rounds.raw, (round) => round.rate),
          "points/s",
        )}`,
        ratio: ratio(r),
        target: "≥ 0.7×",
        met: r.median >= 0.7 && refused === 0,
      },
    ];
  },
};
