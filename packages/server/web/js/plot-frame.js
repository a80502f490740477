// What the live chart and the history chart share: one uPlot in a container, its life (create, resize,
// destroy), its size, its axes and its colours. The colours are the page's own (styles.css `--chart-*`),
// so that a chart follows the light or dark theme, and is drawn again when the system setting changes.
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { formatTick } from "./format.js";

const DARK = "(prefers-color-scheme: dark)";

/**
 * The theme's chart colours, read from the page's custom properties (fallbacks: the light theme's).
 * @returns {{ line: string, fill: string, setpoint: string, band: string, edge: string, flag: string,
 *             axis: string, grid: string, tick: string }}
 */
export function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    line: color("--chart-line", "#a4262c"),
    fill: color("--chart-fill", "rgba(164, 38, 44, 0.07)"),
    setpoint: color("--chart-setpoint", "#64748b"),
    band: color("--chart-band", "rgba(164, 38, 44, 0.14)"),
    edge: color("--chart-edge", "rgba(164, 38, 44, 0.35)"),
    flag: color("--chart-flag", "#d97706"),
    axis: color("--chart-axis", "#475569"),
    grid: color("--chart-grid", "#e2e8f0"),
    tick: color("--chart-tick", "#cbd5e1"),
  };
}

/**
 * The time axis and the value axis, for a metric as `describe` reads it.
 * @param {ReturnType<typeof chartColors>} colors
 * @param {{ label: string, unit: string, digits: number, labels?: Record<string, string> | null }} metric
 *   `labels`: the label of each value, for boolean and enum points (their axis shows only those values)
 */
export function chartAxes(colors, metric) {
  const grid = { stroke: colors.grid, width: 1 };
  const ticks = { stroke: colors.tick };
  const labelled = metric.labels;
  return [
    { stroke: colors.axis, grid, ticks, space: 70 },
    {
      stroke: colors.axis,
      grid,
      ticks,
      size: labelled ? 72 : 56,
      label: metric.unit ? `${metric.label} (${metric.unit})` : metric.label,
      labelSize: 20,
      ...(labelled
        ? {
            splits: () => Object.keys(labelled).map(Number),
            values: (_u, splits) => splits.map((value) => labelled[String(value)] ?? String(value)),
          }
        : {
            // Enough digits for the tick spacing: two ticks never carry the same label.
            values: (_u, splits, _axis, _space, increment) =>
              splits.map((value) => formatTick(value, increment, metric.digits)),
          }),
    },
  ];
}

/** A chart's size in `container`: fits a laptop screen, the readout above and the statistics below in view. */
export function chartSize(container) {
  const width = Math.max(280, Math.floor(container.clientWidth));
  const height = Math.max(220, Math.min(420, Math.floor(width * 0.42), window.innerHeight - 420));
  return { width, height };
}

/** One uPlot in `container`: created when what it shows changes, fed new data otherwise. */
export class PlotFrame {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {any} */
    this.plot = null;
    this.key = "";
    /** @type {{ options: (colors: ReturnType<typeof chartColors>) => object, data: any[] } | null} */
    this.last = null;
    new ResizeObserver(() => this.plot?.setSize(chartSize(this.container))).observe(container);
    // The theme changed: the same chart again, in the new colours.
    matchMedia(DARK).addEventListener("change", () => {
      if (!this.plot || !this.last) return;
      const { key, last } = this;
      this.destroy();
      this.draw(key, last.options, last.data);
    });
  }

  /**
   * Draws `data`. `options` (uPlot's, without size) is asked for only when `key` differs from the chart's.
   * @param {string} key what the chart shows (metric, definition): a new key is a new chart
   * @param {(colors: ReturnType<typeof chartColors>) => object} options
   * @param {any[]} data uPlot columns, times first (epoch ms)
   */
  draw(key, options, data) {
    this.last = { options, data };
    if (this.plot && this.key === key) {
      this.plot.setData(data);
      return;
    }
    this.destroy();
    this.last = { options, data };
    this.key = key;
    this.plot = new uPlot(
      { ...chartSize(this.container), ms: 1, ...options(chartColors()) },
      data,
      this.container,
    );
  }

  destroy() {
    this.plot?.destroy();
    this.plot = null;
    this.key = "";
    this.last = null;
  }
}
