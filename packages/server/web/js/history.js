// The history view (docs/design/trends.md): a range longer than the live window, drawn from the aggregate
// API as the average with a min–max band, in the viewer's time zone (uPlot's default), with the metric's
// unit. One aggregate query per range, device or metric change; nothing polls.
import { api } from "./api.js";
import { HistoryChart } from "./history-chart.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The preset ranges of the picker, by their value. */
export const RANGES = { "1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY };

const INTERVALS = [
  ["5m", 5 * 60_000],
  ["15m", 15 * 60_000],
  ["1h", HOUR],
  ["1d", DAY],
];

/** The finest bucket width that keeps a range within 800 buckets (the API allows 1,000). */
export function intervalFor(spanMs) {
  for (const [name, width] of INTERVALS) if (spanMs / width <= 800) return name;
  return "1d";
}

/**
 * @param {{ container: HTMLElement, stats: HTMLElement, empty: HTMLElement,
 *           reportError: (error: any, context: string) => boolean, clearError: () => void }} options
 */
export function createHistory(options) {
  const chart = new HistoryChart(options.container);
  /** @type {{ deviceId: string, from: number, to: number, interval: string } | null} */
  let shown = null;
  /** @type {any[]} */
  let buckets = [];
  let generation = 0;

  /**
   * @param {string} metric
   * @param {import("./format.js").PointDefinition | null} [definition] the device's point definition
   */
  function render(metric, definition = null) {
    const { container, stats, empty } = options;
    const rows = buckets.filter((bucket) => bucket.metrics[metric]);
    if (!metric || rows.length === 0) {
      chart.destroy();
      container.hidden = true;
      stats.hidden = true;
      empty.hidden = false;
      empty.textContent = "No readings in this range.";
      return;
    }
    empty.hidden = true;
    container.hidden = false;
    chart.render(metric, rows, definition);
    const all = rows.map((bucket) => bucket.metrics[metric]);
    const count = all.reduce((sum, value) => sum + value.count, 0);
    const sum = all.reduce((total, value) => total + value.sum, 0);
    stats.hidden = false;
    stats.dataset.range = "history";
    return {
      min: Math.min(...all.map((value) => value.min)),
      max: Math.max(...all.map((value) => value.max)),
      mean: sum / count,
      count,
    };
  }

  return {
    /** The metrics of the buckets shown, for the picker. */
    metrics() {
      const names = new Set();
      for (const bucket of buckets) for (const name of Object.keys(bucket.metrics)) names.add(name);
      return [...names];
    },
    /**
     * Loads a range of a device; resolves once it is drawn (or superseded by a newer load).
     * @param {string} deviceId
     * @param {{ from: number, to: number }} range
     */
    async load(deviceId, range) {
      const load = ++generation;
      const interval = intervalFor(range.to - range.from);
      const answer = await api.aggregate(deviceId, { ...range, interval });
      if (load !== generation) return false;
      shown = { deviceId, ...range, interval };
      buckets = answer.buckets;
      options.clearError();
      return true;
    },
    /** Draws the loaded buckets for `metric`; returns the range's summary (min, mean, max, count). */
    render,
    /** What the CSV button exports: the range shown, in its buckets (`raw`: its points). */
    async download(raw) {
      if (!shown) return;
      const blob = await api.exportCsv(shown.deviceId, {
        from: shown.from,
        to: shown.to,
        ...(raw ? {} : { interval: shown.interval }),
      });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${shown.deviceId}_${new Date(shown.from).toISOString().slice(0, 10)}_${raw ? "points" : shown.interval}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    },
    get interval() {
      return shown?.interval ?? null;
    },
    hide() {
      generation += 1;
      shown = null;
      buckets = [];
      chart.destroy();
      options.container.hidden = true;
    },
  };
}
