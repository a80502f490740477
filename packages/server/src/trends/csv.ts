import type { AggregateBucket, MetricAggregate, TelemetryPoint } from "../stores/types.js";

/** The statistics of a bucket, in the order of their CSV columns. */
const STATS: ReadonlyArray<keyof MetricAggregate> = ["avg", "min", "max", "sum", "count", "first", "last"];

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function line(fields: readonly string[]): string {
  return `${fields.map(field).join(",")}\r\n`;
}

/** A reading as CSV: the shortest text that reads back as the same number; empty when absent. */
function number(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}

/**
 * The CSV of raw points: `time_utc,timestamp_ms,<metric>…`, one row a point, ISO-8601 UTC time and
 * epoch milliseconds, one column a metric.
 *
 * @example
 * const csv = pointsCsv(["zone_temp_c"]);
 * csv.header(); // "time_utc,timestamp_ms,zone_temp_c\r\n"
 */
export function pointsCsv(metrics: readonly string[]) {
  return {
    header: () => line(["time_utc", "timestamp_ms", ...metrics]),
    rows: (points: readonly TelemetryPoint[]) =>
      points
        .map((point) =>
          line([
            new Date(point.timestamp_ms).toISOString(),
            String(point.timestamp_ms),
            ...metrics.map((name) => number(point.metrics[name])),
          ]),
        )
        .join(""),
  };
}

/**
 * The CSV of trend buckets: `start_utc,start_ms,<metric>.avg,<metric>.min,…`, one row a bucket, each
 * metric's seven statistics in columns of their own.
 */
export function bucketsCsv(metrics: readonly string[]) {
  return {
    header: () =>
      line(["start_utc", "start_ms", ...metrics.flatMap((name) => STATS.map((stat) => `${name}.${stat}`))]),
    rows: (buckets: readonly AggregateBucket[]) =>
      buckets
        .map((bucket) =>
          line([
            new Date(bucket.start_ms).toISOString(),
            String(bucket.start_ms),
            ...metrics.flatMap((name) => STATS.map((stat) => number(bucket.metrics[name]?.[stat]))),
          ]),
        )
        .join(""),
  };
}

/** The metrics of some buckets, sorted: the columns of an export. */
export function metricsOf(buckets: readonly AggregateBucket[]): string[] {
  const names = new Set<string>();
  for (const bucket of buckets) for (const name in bucket.metrics) names.add(name);
  return [...names].sort();
}
