import { isDeepStrictEqual } from "node:util";
import type { Stores, TelemetryPoint } from "../stores/types.js";
import { type Progress, silentProgress } from "./job.js";
import { sortedDeviceIds, sortedTenantIds } from "./source.js";

export interface CompareReport {
  job: "compare-telemetry";
  sampled_series: number;
  read: number;
  mismatched: number;
  /** One line per differing point: which series, which timestamp, what differs. */
  notes: string[];
  green: boolean;
}

/**
 * `firebrick compare telemetry --sample N`: picks N device series at random (seeded) across tenants
 * and compares their newest `depth` points in SQLite and Firestore, timestamp by timestamp.
 */
export async function compareTelemetry(
  source: Stores,
  target: Stores,
  options: { sample: number; depth?: number; seed?: number; progress?: Progress },
): Promise<CompareReport> {
  const progress = options.progress ?? silentProgress;
  const depth = options.depth ?? 100;
  const series: { tenant: string; device: string }[] = [];
  for (const tenant of await sortedTenantIds(source)) {
    for (const device of await sortedDeviceIds(source, tenant)) series.push({ tenant, device });
  }
  const picked = shuffle(series, options.seed ?? Date.now()).slice(0, options.sample);
  const report: CompareReport = {
    job: "compare-telemetry",
    sampled_series: picked.length,
    read: 0,
    mismatched: 0,
    notes: [],
    green: true,
  };
  progress.start(picked.length);
  try {
    for (const { tenant, device } of picked) {
      await compareSeries(tenant, device);
      progress.advance(1);
    }
  } finally {
    progress.stop();
  }
  report.green = report.mismatched === 0;
  return report;

  async function compareSeries(tenant: string, device: string): Promise<void> {
    const [expected, actual] = await Promise.all([
      source.telemetry.latest(tenant, device, depth),
      target.telemetry.latest(tenant, device, depth),
    ]);
    report.read += expected.length + actual.length;
    const byTime = (points: TelemetryPoint[]) =>
      new Map(points.map((point) => [point.timestamp_ms, point.metrics]));
    const want = byTime(expected);
    const got = byTime(actual);
    for (const timestamp of new Set([...want.keys(), ...got.keys()])) {
      const a = want.get(timestamp);
      const b = got.get(timestamp);
      if (a !== undefined && b !== undefined && isDeepStrictEqual(a, b)) continue;
      report.mismatched++;
      const what =
        a === undefined ? "only in Firestore" : b === undefined ? "missing in Firestore" : "metrics differ";
      if (report.notes.length < 200) {
        report.notes.push(`${tenant}/${device} @ ${new Date(timestamp).toISOString()}: ${what}`);
      }
    }
  }
}

function shuffle<T>(items: T[], seed: number): T[] {
  const copy = [...items];
  let state = seed >>> 0 || 1;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
