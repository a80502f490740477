// The history chart: the average of each bucket as a line, its minimum and maximum as a band (uPlot bands),
// times in the viewer's local zone (uPlot's default), labelled from the device's point definition, and the
// valid range's bounds as dashed lines when the definition has them (a bucket beyond them holds points the
// API flags as out of range).
import { describeMetric, formatValue } from "./format.js";
import { chartAxes, PlotFrame } from "./plot-frame.js";

export class HistoryChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.frame = new PlotFrame(container);
  }

  /**
   * @param {string} metric
   * @param {{ start_ms: number, metrics: Record<string, { avg: number, min: number, max: number }> }[]} buckets
   * @param {import("./format.js").PointDefinition | null} [definition] the device's point definition
   */
  render(metric, buckets, definition = null) {
    const described = describeMetric(metric, definition);
    const bounds = [described.min, described.max].filter((bound) => bound !== null);
    const columns = [
      buckets.map((bucket) => bucket.start_ms),
      buckets.map((bucket) => bucket.metrics[metric]?.avg ?? null),
      buckets.map((bucket) => bucket.metrics[metric]?.min ?? null),
      buckets.map((bucket) => bucket.metrics[metric]?.max ?? null),
      ...bounds.map((bound) => buckets.map(() => bound)),
    ];
    const key = JSON.stringify([metric, definition]);
    this.frame.draw(
      key,
      (colors) => {
        const value = (_u, v) => (v == null ? "—" : formatValue(v, metric, definition));
        const { label, unit } = described;
        return {
          series: [
            { value: "{YYYY}-{MM}-{DD} {h}:{mm}{aa}" },
            {
              label: unit ? `Average ${label} (${unit})` : `Average ${label}`,
              stroke: colors.line,
              width: 2,
              value,
            },
            { label: "Minimum", stroke: colors.edge, width: 1, value },
            { label: "Maximum", stroke: colors.edge, width: 1, value },
            ...bounds.map((_bound, index) => ({
              label: index === 0 && described.min !== null ? "Lowest valid" : "Highest valid",
              stroke: colors.flag,
              width: 1,
              dash: [4, 4],
              points: { show: false },
              value,
            })),
          ],
          // The band between maximum (series 3) and minimum (series 2).
          bands: [{ series: [3, 2], fill: colors.band }],
          cursor: { drag: { x: false, y: false }, points: { size: 6 } },
          legend: { live: true },
          scales: { x: { time: true } },
          axes: chartAxes(colors, described),
        };
      },
      columns,
    );
  }

  destroy() {
    this.frame.destroy();
  }
}
