// The live chart: the selected metric's last points over uPlot (served from our own origin), labelled from
// the device's point definition, with the points the API flags as outside their valid range marked. Data
// are UTC epoch milliseconds (`ms: 1`); uPlot renders the time axis in the viewer's local time zone.
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { describeMetric, formatValue } from "./format.js";
import { chartAxes, PlotFrame } from "./plot-frame.js";

export class LiveChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.frame = new PlotFrame(container);
  }

  /**
   * @param {string} metric
   * @param {[number[], ...(number | null)[][]]} columns times, the metric, and optionally a setpoint
   * @param {boolean} withSetpoint
   * @param {import("./format.js").PointDefinition | null} [definition] the device's point definition
   * @param {(number | null)[]} [flagged] the metric's values outside their valid range (null elsewhere),
   *   aligned with the times
   */
  render(metric, columns, withSetpoint, definition = null, flagged = []) {
    const key = JSON.stringify([metric, withSetpoint, definition]);
    // Only a defined point has a valid range to be outside of: the others get no "Out of range" series.
    const data = definition ? [...columns, flagged.length ? flagged : columns[0].map(() => null)] : columns;
    this.frame.draw(key, (colors) => options(metric, definition, withSetpoint, colors), data);
  }

  destroy() {
    this.frame.destroy();
  }
}

/**
 * uPlot's options for one metric: its line (steps for a boolean or an enum: a state holds until the next
 * reading), the setpoint, and the out-of-range points as markers of their own.
 */
function options(metric, definition, withSetpoint, colors) {
  const described = describeMetric(metric, definition);
  const { label, unit, kind } = described;
  const value = (_u, v) => (v == null ? "—" : formatValue(v, metric, definition));
  const stepped = kind !== "number";
  const series = [
    // Readings are seconds apart: the legend shows seconds too (in the viewer's zone, as the axis).
    { value: "{YYYY}-{MM}-{DD} {h}:{mm}:{ss}{aa}" },
    {
      label: unit ? `${label} (${unit})` : label,
      stroke: colors.line,
      width: 2,
      fill: stepped ? undefined : colors.fill,
      ...(stepped && { paths: uPlot.paths.stepped({ align: 1 }) }),
      points: { show: false },
      value,
    },
  ];
  if (withSetpoint) {
    series.push({
      label: "Setpoint (°C)",
      stroke: colors.setpoint,
      width: 1.5,
      dash: [6, 4],
      points: { show: false },
      value: (_u, v) => (v == null ? "—" : formatValue(v, "setpoint_c")),
    });
  }
  if (definition)
    series.push({
      label: "Out of range",
      class: "series-out-of-range",
      stroke: colors.flag,
      width: 0,
      paths: () => null,
      points: { show: true, size: 9, width: 2, stroke: colors.flag, fill: colors.flag },
      value,
    });
  return {
    series,
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, min, max) => padRange(min, max, described) } },
    axes: chartAxes(colors, described),
  };
}

/**
 * Pads the y-range so that a flat line does not sit on the frame, and noise does not look like a cliff; a
 * state's axis spans all its labelled values.
 */
function padRange(min, max, described) {
  if (described.labels) {
    const codes = Object.keys(described.labels).map(Number);
    const low = Math.min(min ?? Infinity, ...codes);
    const high = Math.max(max ?? -Infinity, ...codes);
    return [low - 0.25, high + 0.25];
  }
  if (min == null || max == null) return [0, 1];
  const span = max - min;
  const pad = Math.max(span * 0.15, Math.abs(max) * 0.01, 0.5);
  return [min - pad, max + pad];
}
