import type { Spread } from "./stats.js";

/** One row of the results table. */
export interface Figure {
  /** What is measured, e.g. "SQLite ingest, 1 point/request". */
  what: string;
  measured: string;
  /** The baseline measured in the same run, or "—" for an absolute target. */
  baseline: string;
  /** The median paired ratio with its range, or "—". */
  ratio: string;
  target: string;
  /** A missed target prints as NO (and fails the run under BENCH_STRICT=1); `null` when informative only. */
  met: boolean | null;
}

/** `1234.5` → "1,235" (or with `digits` decimals). */
export function num(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A spread as "1,866 points/s [1,383–2,459]". */
export function withRange(s: Spread, unit = "", digits = 0): string {
  const suffix = unit ? ` ${unit}` : "";
  if (s.values.length <= 1) return `${num(s.median, digits)}${suffix}`;
  return `${num(s.median, digits)}${suffix} [${num(s.min, digits)}–${num(s.max, digits)}]`;
}

/** A paired ratio as "0.95× [0.90–1.02]". */
export function ratio(s: Spread, digits = 2): string {
  if (s.values.length <= 1) return `${s.median.toFixed(digits)}×`;
  return `${s.median.toFixed(digits)}× [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;
}

export const MiB = 1024 * 1024;
