// The history chart: the average of each bucket as a line, its minimum and maximum as a band (uPlot bands),
// times in the viewer's local zone (uPlot's default), values with the metric's unit and tick digits.
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { chartAxes, chartSize } from "./chart.js";
import { describeMetric, formatValue } from "./format.js";

const LINE = "#a4262c";
const BAND = "rgba(164, 38, 44, 0.14)";
const EDGE = "rgba(164, 38, 44, 0.35)";

export class HistoryChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {any} */
    this.plot = null;
    this.metric = "";
    new ResizeObserver(() => this.plot?.setSize(this.#size())).observe(container);
  }

  /**
   * @param {string} metric
   * @param {{ start_ms: number, metrics: Record<string, { avg: number, min: number, max: number }> }[]} buckets
   */
  render(metric, buckets) {
    const columns = [
      buckets.map((bucket) => bucket.start_ms),
      buckets.map((bucket) => bucket.metrics[metric]?.avg ?? null),
      buckets.map((bucket) => bucket.metrics[metric]?.min ?? null),
      buckets.map((bucket) => bucket.metrics[metric]?.max ?? null),
    ];
    if (this.plot && this.metric === metric) {
      this.plot.setData(columns);
      return;
    }
    this.destroy();
    this.metric = metric;
    const { label, unit } = describeMetric(metric);
    const value = (_u, v) => (v == null ? "—" : formatValue(v, metric));
    const { width, height } = this.#size();
    this.plot = new uPlot(
      {
        width,
        height,
        ms: 1,
        series: [
          { value: "{YYYY}-{MM}-{DD} {h}:{mm}{aa}" },
          { label: unit ? `Average ${label} (${unit})` : `Average ${label}`, stroke: LINE, width: 2, value },
          { label: "Minimum", stroke: EDGE, width: 1, value },
          { label: "Maximum", stroke: EDGE, width: 1, value },
        ],
        // The band between maximum (series 3) and minimum (series 2).
        bands: [{ series: [3, 2], fill: BAND }],
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        legend: { live: true },
        scales: { x: { time: true } },
        axes: chartAxes(metric),
      },
      columns,
      this.container,
    );
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.metric = "";
  }

  #size() {
    return chartSize(this.container);
  }
}
