import { isDeepStrictEqual } from "node:util";
import type { AggregateBucket, MetricAggregate, Stores, TelemetryPoint } from "../stores/types.js";
import { type Progress, silentProgress } from "./job.js";
import { sortedDeviceIds, sortedTenantIds } from "./source.js";

const BUCKET_MS = 5 * 60_000;
const SETTLE_MS = 60_000;

export interface CompareReport {
  job: "compare-telemetry";
  sampled_series: number;
  read: number;
  mismatched: number;
  /** Five-minute trend buckets over the compared points whose rollups differ (counted in `mismatched`). */
  mismatched_buckets: number;
  /** One line per differing point: which series, which timestamp, what differs. */
  notes: string[];
  green: boolean;
}

/**
 * `firebrick compare telemetry --sample N`: picks N device series at random (seeded) across tenants
 * and compares their newest `depth` points in SQLite and Firestore, timestamp by timestamp, then the
 * five-minute trend buckets over those points' span (docs/design/trends.md), bucket by bucket.
 */
export async function compareTelemetry(
  source: Stores,
  target: Stores,
  options: { sample: number; depth?: number; seed?: number; now?: number; progress?: Progress },
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
    mismatched_buckets: 0,
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
    if (expected.length === 0) return;
    // The span of the compared points, at most 1,000 five-minute buckets back from the newest, and only
    // buckets that ended a minute ago: a fast device's newest update may still be held back by the
    // instance that wrote it (about a second; docs/design/trends.md).
    const settled = Math.floor(((options.now ?? Date.now()) - SETTLE_MS) / BUCKET_MS) * BUCKET_MS;
    const to = Math.min(expected[0]!.timestamp_ms + 1, settled);
    const from = Math.max(expected.at(-1)!.timestamp_ms, to - 999 * BUCKET_MS);
    if (from >= to) return;
    const query = { from, to, interval: "5m" as const, timeZone: "UTC" };
    const [wantBuckets, gotBuckets] = await Promise.all([
      source.telemetry.aggregate(tenant, device, query),
      target.telemetry.aggregate(tenant, device, query),
    ]);
    for (const start of bucketDifferences(wantBuckets, gotBuckets)) {
      report.mismatched++;
      report.mismatched_buckets++;
      if (report.notes.length < 200) {
        report.notes.push(`${tenant}/${device} rollup @ ${new Date(start).toISOString()}: buckets differ`);
      }
    }
  }
}

/** Starts of the buckets that differ; sums and averages may differ in their last bits (addition order). */
function bucketDifferences(want: AggregateBucket[], got: AggregateBucket[]): number[] {
  const byStart = (buckets: AggregateBucket[]) => new Map(buckets.map((bucket) => [bucket.start_ms, bucket]));
  const a = byStart(want);
  const b = byStart(got);
  const close = (x: number, y: number) =>
    x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
  const same = (x: MetricAggregate, y: MetricAggregate) =>
    x.count === y.count &&
    x.min === y.min &&
    x.max === y.max &&
    x.first === y.first &&
    x.last === y.last &&
    close(x.sum, y.sum) &&
    close(x.avg, y.avg);
  const differing: number[] = [];
  for (const start of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(start)?.metrics ?? {};
    const y = b.get(start)?.metrics ?? {};
    const names = new Set([...Object.keys(x), ...Object.keys(y)]);
    if ([...names].some((name) => !x[name] || !y[name] || !same(x[name]!, y[name]!))) differing.push(start);
  }
  return differing.sort((p, q) => p - q);
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
