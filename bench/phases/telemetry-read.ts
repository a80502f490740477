import { TELEMETRY_RETENTION_MS } from "../../packages/server/src/stores/types.js";
import type { Phase } from "../lib/context.js";
import { ratio, withRange } from "../lib/figure.js";
import { alternate, over, paired } from "../lib/paired.js";
import { startService } from "../lib/service.js";
import { percentile } from "../lib/stats.js";
import { call, TENANT } from "../server-process.js";

const SAMPLES_PER_ROUND = Number(process.env.BENCH_SAMPLES ?? 200) / 5;

/**
 * `GET /api/devices/:id/telemetry?limit=100` through `firebrick serve` (every area on Firestore) against
 * the query the Firestore store runs for it, on the SDK against the same project: sequential requests
 * over a kept-alive connection, p50 and p95 of each round, rounds alternated (lib/paired.ts).
 */
export const telemetryReadPhase: Phase = {
  name: "telemetry-read",
  title: "GET …/telemetry?limit=100 through HTTP vs the raw SDK query (Firestore)",
  async run(bench) {
    const { server, admin, devices, projectId } = await startService(bench, {
      label: "read",
      store: "firestore",
      devices: 1,
      deviceWritesPerMinute: 100_000,
    });
    const reader = devices[0]!;
    const base = Date.now() - 60 * 60_000;
    await call(server.url, "POST", `/api/devices/${reader.id}/telemetry`, {
      bearer: reader.token,
      body: {
        points: Array.from({ length: 200 }, (_, i) => ({ timestamp_ms: base + i * 1000, metrics: { t: i } })),
      },
      expect: 202,
    });
    const raw = await bench.firestore(projectId!);
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
    const sample = (run: () => Promise<void>) => async () => {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES_PER_ROUND; i++) {
        const t0 = performance.now();
        await run();
        times.push(performance.now() - t0);
      }
      return { p50: percentile(times, 50), p95: percentile(times, 95) };
    };
    const rounds = await alternate(
      { raw: sample(rawLatest), http: sample(httpLatest) },
      { rounds: bench.rounds, warmup: 1 },
    );
    return ([50, 95] as const).map((p) => {
      const value = (round: { p50: number; p95: number }) => (p === 50 ? round.p50 : round.p95);
      const r = paired(rounds.http, rounds.raw, value);
      return {
        what: `GET …/telemetry?limit=100 p${p} (HTTP, Firestore)`,
        measured: withRange(over(rounds.http, value), "ms", 2),
        baseline: `raw SDK query ${withRange(over(rounds.raw, value), "ms", 2)}`,
        ratio: ratio(r),
        target: p === 50 ? "≤ 1.5×" : "(p50 is the target)",
        met: p === 50 ? r.median <= 1.5 : null,
      };
    });
  },
};
