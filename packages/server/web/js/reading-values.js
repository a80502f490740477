// A device's only reading, as its values: one point draws no line, and a chart of it is an empty grid.
import { describeMetric, formatWithUnit, sortMetrics } from "./format.js";

/**
 * Fills a <dl> with every metric of the point, labelled and with its unit.
 * @param {HTMLElement} list
 * @param {{ metrics?: Record<string, number>, out_of_range?: string[] }} point
 * @param {Record<string, { name?: string, unit?: string | null }>} [definitions] the device's point definitions
 */
export function renderReadingValues(list, point, definitions = {}) {
  const metrics = point.metrics ?? {};
  list.replaceChildren(
    ...sortMetrics(Object.keys(metrics)).map((name) => {
      const wrapper = document.createElement("div");
      const term = document.createElement("dt");
      const value = document.createElement("dd");
      term.textContent = describeMetric(name, definitions[name]).label;
      value.textContent = formatWithUnit(metrics[name], name, definitions[name]);
      // The API flags a value outside its point's valid range: said in words, not by colour alone.
      if (point.out_of_range?.includes(name)) {
        const flag = document.createElement("span");
        flag.className = "out-of-range";
        flag.textContent = "out of range";
        value.append(" ", flag);
      }
      wrapper.append(term, value);
      return wrapper;
    }),
  );
}
