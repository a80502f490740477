// The live chart: a thin wrapper over uPlot (served from our own origin). Data are UTC epoch
// milliseconds (`ms: 1`); uPlot renders the time axis in the viewer's local time zone by default.
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { describeMetric, formatTick, formatValue } from "./format.js";

const LINE = "#a4262c";
const SETPOINT = "#64748b";

export class LiveChart {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {any} */
    this.plot = null;
    this.key = "";
    this.resizeObserver = new ResizeObserver(() => this.#resize());
    this.resizeObserver.observe(container);
  }

  /**
   * @param {string} metric
   * @param {[number[], ...(number | null)[][]]} columns times, the metric, and optionally a setpoint
   * @param {boolean} withSetpoint
   * @param {{ name?: string, unit?: string | null } | null} [definition] the device's point definition
   */
  render(metric, columns, withSetpoint, definition = null) {
    const key = `${metric}|${withSetpoint}|${definition?.name ?? ""}|${definition?.unit ?? ""}`;
    if (this.plot && this.key === key) {
      this.plot.setData(columns);
      return;
    }
    this.destroy();
    this.key = key;
    const { label, unit } = describeMetric(metric, definition);
    const series = [
      // Readings are seconds apart: the legend shows seconds too (in the viewer's zone, as the axis).
      { value: "{YYYY}-{MM}-{DD} {h}:{mm}:{ss}{aa}" },
      {
        label: unit ? `${label} (${unit})` : label,
        stroke: LINE,
        width: 2,
        fill: "rgba(164, 38, 44, 0.07)",
        points: { show: false },
        value: (_u, value) => (value == null ? "—" : formatValue(value, metric)),
      },
    ];
    if (withSetpoint) {
      series.push({
        label: "Setpoint (°C)",
        stroke: SETPOINT,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: (_u, value) => (value == null ? "—" : formatValue(value, "setpoint_c")),
      });
    }
    const { width, height } = this.#size();
    this.plot = new uPlot(
      {
        width,
        height,
        ms: 1,
        series,
        cursor: { drag: { x: false, y: false }, points: { size: 7 } },
        legend: { live: true },
        scales: { x: { time: true }, y: { range: (_u, min, max) => padRange(min, max) } },
        axes: chartAxes(metric),
      },
      columns,
      this.container,
    );
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.key = "";
  }

  #size() {
    return chartSize(this.container);
  }

  #resize() {
    if (this.plot) this.plot.setSize(this.#size());
  }
}

/** Pads the y-range so that a flat line does not sit on the frame, and noise does not look like a cliff. */
function padRange(min, max) {
  if (min == null || max == null) return [0, 1];
  const span = max - min;
  const pad = Math.max(span * 0.15, Math.abs(max) * 0.01, 0.5);
  return [min - pad, max + pad];
}

/** The time axis and the value axis of the dashboard's charts (live and history), for `metric`. */
export function chartAxes(metric) {
  // The page's own colours (styles.css), so that the axes follow the light or dark theme.
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const axis = color("--chart-axis", "#475569");
  const grid = { stroke: color("--chart-grid", "#e2e8f0"), width: 1 };
  const ticks = { stroke: color("--chart-tick", "#cbd5e1") };
  return [
    { stroke: axis, grid, ticks, space: 70 },
    {
      stroke: axis,
      grid,
      ticks,
      size: 56,
      // Enough digits for the tick spacing: two ticks never carry the same label.
      values: (_u, splits, _axis, _space, increment) =>
        splits.map((value) => formatTick(value, increment, metric)),
    },
  ];
}

/** A chart's size in `container`: fits a laptop screen, the readout above and the statistics below in view. */
export function chartSize(container) {
  const width = Math.max(280, Math.floor(container.clientWidth));
  const height = Math.max(220, Math.min(420, Math.floor(width * 0.42), window.innerHeight - 420));
  return { width, height };
}
