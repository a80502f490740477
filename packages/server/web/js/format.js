// Pure presentation helpers: metric names to human labels and units, ages, numbers. No DOM here, so that
// they are unit-tested in Node.

/** Metrics the simulator and typical BAS points send, with how a person reads them. */
const KNOWN_METRICS = {
  zone_temp_c: { label: "Zone temperature", unit: "°C", digits: 1, order: 1 },
  setpoint_c: { label: "Setpoint", unit: "°C", digits: 1, order: 2 },
  humidity_pct: { label: "Humidity", unit: "%RH", digits: 0, order: 3 },
  co2_ppm: { label: "CO₂", unit: "ppm", digits: 0, order: 4 },
  supply_air_temp_c: { label: "Supply air", unit: "°C", digits: 1, order: 5 },
  damper_pct: { label: "Damper", unit: "%", digits: 0, order: 6 },
};

/**
 * Units guessed from a metric's suffix. Only the fallback for a metric its device has no point definition
 * for (devices defined before definitions existed, or never defined): a definition always wins.
 */
const SUFFIX_UNITS = [
  ["_c", "°C"],
  ["_f", "°F"],
  ["_ppm", "ppm"],
  ["_pct", "%"],
  ["_percent", "%"],
  ["_pa", "Pa"],
  ["_kw", "kW"],
  ["_kwh", "kWh"],
  ["_lux", "lx"],
];

/** How a boolean point reads (docs/design/devices.md: 0 or 1). */
export const BOOLEAN_LABELS = Object.freeze({ 0: "off", 1: "on" });

/**
 * @typedef {{ name?: string, unit?: string | null, kind?: "number" | "boolean" | "enum",
 *             min?: number | null, max?: number | null, labels?: Record<string, string> | null }} PointDefinition
 *   a device's point definition, as `GET /api/devices` gives it
 */

/**
 * A metric as a person reads it: the device's point definition (display name, unit, kind, labels) when it
 * has one; without one, known names and then the name's suffix are guesses.
 * @param {string} name
 * @param {PointDefinition | null} [definition]
 * @returns {{ name: string, label: string, unit: string, digits: number, order: number,
 *             kind: "number" | "boolean" | "enum", labels: Record<string, string> | null,
 *             min: number | null, max: number | null }}
 */
export function describeMetric(name, definition) {
  const guessed = { ...guessMetric(name), kind: "number", labels: null, min: null, max: null };
  if (!definition?.name) return guessed;
  const kind = definition.kind ?? "number";
  return {
    ...guessed,
    label: definition.name,
    // A state has no unit, whatever a definition says.
    unit: kind === "number" ? (definition.unit ?? "") : "",
    digits: kind === "number" ? guessed.digits : 0,
    kind,
    labels: kind === "boolean" ? BOOLEAN_LABELS : kind === "enum" ? (definition.labels ?? null) : null,
    min: definition.min ?? null,
    max: definition.max ?? null,
  };
}

/** @param {string} name */
function guessMetric(name) {
  const known = KNOWN_METRICS[name];
  if (known) return { name, ...known };
  let base = name;
  let unit = "";
  for (const [suffix, suffixUnit] of SUFFIX_UNITS) {
    if (name.toLowerCase().endsWith(suffix)) {
      base = name.slice(0, -suffix.length);
      unit = suffixUnit;
      break;
    }
  }
  const words = base.replace(/[_-]+/g, " ").trim();
  const label = words ? words[0].toUpperCase() + words.slice(1) : name;
  return { name, label, unit, digits: unit === "ppm" ? 0 : 1, order: 100 };
}

/** Known metrics in a sensible order first, then the others alphabetically. */
export function sortMetrics(names) {
  return [...names].sort((a, b) => {
    const da = describeMetric(a);
    const db = describeMetric(b);
    return da.order - db.order || a.localeCompare(b);
  });
}

/** The metric a device view opens on: zone temperature when there is one. */
export function defaultMetric(names) {
  return sortMetrics(names)[0] ?? null;
}

/**
 * A value as its point reads: "on"/"off" for a boolean point, its label for an enum point, else the number
 * with the metric's digits.
 * @param {number | null | undefined} value
 * @param {string} name metric name
 * @param {PointDefinition | null} [definition] the device's point definition
 */
export function formatValue(value, name, definition) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const { digits, labels } = describeMetric(name, definition);
  const label = labels?.[String(value)];
  if (label !== undefined) return label;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * "Zone temperature 21.4 °C" style, value and unit with a thin space where it reads better.
 * @param {number | null | undefined} value
 * @param {string} name
 * @param {PointDefinition | null} [definition] the device's point definition
 */
export function formatWithUnit(value, name, definition) {
  const { unit } = describeMetric(name, definition);
  const text = formatValue(value, name, definition);
  if (text === "—" || !unit) return text;
  return unit === "%" ? `${text}%` : `${text} ${unit}`;
}

/**
 * How long ago, compact and readable at a glance: "just now", "12 s ago", "4 min ago", "3 h ago", "2 d ago".
 * @param {number} timestampMs
 * @param {number} [nowMs]
 */
export function formatAge(timestampMs, nowMs = Date.now()) {
  if (typeof timestampMs !== "number" || !Number.isFinite(timestampMs)) return "never";
  const seconds = Math.round((nowMs - timestampMs) / 1000);
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/**
 * How long to wait, as a person says it: "40 s" under a minute, else "about 15 minutes" (a lockout of
 * 889 s is a quarter of an hour, not a number to count down).
 * @param {number} ms
 */
export function formatWait(ms) {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `about ${hours} hours`;
}

/**
 * Freshness of a reading, for colour: "live" within 3 expected intervals, "stale" within an hour, else "old".
 * @param {number} timestampMs
 * @param {number} [nowMs]
 */
export function freshness(timestampMs, nowMs = Date.now()) {
  if (typeof timestampMs !== "number") return "old";
  const age = nowMs - timestampMs;
  if (age < 60_000) return "live";
  if (age < 3_600_000) return "stale";
  return "old";
}

/** An audit timestamp in the viewer's local time, with the zone so that it is unambiguous. */
export function formatDateTime(timestampMs) {
  if (typeof timestampMs !== "number") return "—";
  return new Date(timestampMs).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
}

/** Min, max and mean of a series, ignoring gaps. */
export function summarize(values) {
  const finite = values.filter((value) => typeof value === "number" && Number.isFinite(value));
  if (finite.length === 0) return null;
  let min = finite[0];
  let max = finite[0];
  let sum = 0;
  for (const value of finite) {
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
  }
  return { min, max, mean: sum / finite.length, count: finite.length };
}

/**
 * Points arrive latest first (docs/design/api.md); a chart wants them oldest first, as columns.
 * @param {{ timestamp_ms: number, metrics: Record<string, number> }[]} points
 * @param {string[]} metrics
 * @returns {[number[], ...(number | null)[][]]}
 */
export function toColumns(points, metrics) {
  const ordered = [...points].sort((a, b) => a.timestamp_ms - b.timestamp_ms);
  const times = ordered.map((point) => point.timestamp_ms);
  const series = metrics.map((metric) =>
    ordered.map((point) => {
      const value = point.metrics?.[metric];
      return typeof value === "number" && Number.isFinite(value) ? value : null;
    }),
  );
  return [times, ...series];
}

/**
 * An axis tick: the metric's own digits, or more when the ticks are closer than that, so that two ticks
 * never read the same ("6, 6, 5, 5" on a 4–7 % damper axis stepped by 0.5).
 *
 * @param {number} value
 * @param {number | undefined} increment the distance between ticks
 * @param {number} digits the metric's own (`describeMetric(…).digits`)
 */
export function formatTick(value, increment, digits) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "";
  const step = typeof increment === "number" && increment > 0 ? String(+increment.toPrecision(12)) : "";
  const stepDigits = step.includes("e-") ? Number(step.split("e-")[1]) : (step.split(".")[1]?.length ?? 0);
  const shown = Math.min(10, Math.max(digits, stepDigits));
  return value.toLocaleString("en-US", { minimumFractionDigits: shown, maximumFractionDigits: shown });
}

/**
 * The values of `metric` that the API flagged as outside their valid range (`out_of_range`), oldest first
 * and aligned with `toColumns`' times; null where a value is valid or missing.
 * @param {{ timestamp_ms: number, metrics: Record<string, number>, out_of_range?: string[] }[]} points
 * @param {string} metric
 * @returns {(number | null)[]}
 */
export function outOfRangeColumn(points, metric) {
  return [...points]
    .sort((a, b) => a.timestamp_ms - b.timestamp_ms)
    .map((point) => (point.out_of_range?.includes(metric) ? (point.metrics?.[metric] ?? null) : null));
}
