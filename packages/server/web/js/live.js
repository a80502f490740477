// The live view: the device list with each device's latest reading and its age, and the chart of the
// selected device's last 100 points for one metric.
//
// Read budget (docs/design/dashboard.md, ≤ 50 billed reads per minute per open dashboard): the chart polls
// one "last 100" query every 5 s (12 per minute, each ≤ 1 billed read thanks to the server's per-device
// cache, plus the new points themselves); the other devices' latest readings are refreshed round robin, one
// "latest 1" query every 3 s, so at most 20 more reads per minute however many devices there are; the device
// list itself is listed again only every 5 minutes or on demand. Nothing polls while the tab is hidden, and
// the admin page stops the live polling.
import { api, getConfig } from "./api.js";
import { LiveChart } from "./chart.js";
import { groupDevices } from "./device-groups.js";
import { createDeviceSettings } from "./device-settings.js";
import { $, bind } from "./dom.js";
import {
  defaultMetric,
  describeMetric,
  formatAge,
  formatValue,
  formatWithUnit,
  freshness,
  outOfRangeColumn,
  sortMetrics,
  summarize,
  toColumns,
} from "./format.js";
import { createHistory, RANGES } from "./history.js";
import { Poller } from "./poller.js";
import { renderReadingValues } from "./reading-values.js";

const LIST_RELOAD_MS = 5 * 60_000;
const OTHER_DEVICE_QUERIES_PER_MINUTE = 20;

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void,
 *           navigate: (hash: string) => void }} app
 */
export function createLiveView(app) {
  const listElement = $("device-list");
  const filterInput = /** @type {HTMLInputElement} */ ($("device-filter"));
  const picker = $("metric-picker");
  const chart = new LiveChart($("chart"));

  /** @type {{ id: string, name: string, location: any, points: Record<string, any>, latest: any | null }[]} */
  let devices = [];
  let selectedId = null;
  let selectedMetric = null;
  /** @type {any[]} latest first */
  let points = [];
  let lastListLoadMs = 0;
  let otherIndex = 0;
  let ageTimer = null;
  let active = false;
  /** Counts `enter` calls: the latest one decides the selected device. */
  let entries = 0;
  /** "live", a key of RANGES, or "custom" (history.js: the aggregate API, no polling). */
  let range = "live";
  /** @type {{ from: number, to: number } | null} */
  let customRange = null;
  const history = createHistory({
    container: $("history-chart"),
    stats: $("stats"),
    empty: $("chart-empty"),
    reportError: app.reportError,
    clearError: app.clearError,
  });

  const settings = createDeviceSettings(app, {
    // A saved location or point definition: the list regroups and the chart relabels at once.
    onDeviceChanged(changed) {
      const device = devices.find((candidate) => candidate.id === String(changed.id));
      if (!device) return;
      device.location = changed.location ?? null;
      device.points = changed.points ?? {};
      renderList();
      renderChart();
    },
  });

  const chartPoller = new Poller(pollChart, {
    intervalMs: getConfig().poll_interval_ms,
    onError: (error) => app.reportError(error, "Live data could not be refreshed"),
    onSuccess: () => app.clearError(),
  });
  const listPoller = new Poller(pollOthers, {
    intervalMs: 60_000 / OTHER_DEVICE_QUERIES_PER_MINUTE,
    onError: (error) => app.reportError(error, "The device list could not be refreshed"),
  });

  filterInput.addEventListener("input", renderList);
  document.querySelector('[data-action="refresh-devices"]')?.addEventListener("click", () => {
    loadDevices().catch((error) => app.reportError(error, "The device list could not be loaded"));
  });
  picker.addEventListener("change", (event) => {
    const target = /** @type {HTMLInputElement} */ (event.target);
    if (target.name !== "metric") return;
    selectedMetric = target.value;
    renderChart();
  });
  $("range-picker").addEventListener("change", (event) => {
    const target = /** @type {HTMLInputElement} */ (event.target);
    if (target.name !== "range") return;
    range = target.value;
    applyRange();
  });
  $("custom-range").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = new Date(/** @type {HTMLInputElement} */ ($("custom-from")).value).getTime();
    const to = new Date(/** @type {HTMLInputElement} */ ($("custom-to")).value).getTime();
    if (!(from < to)) {
      app.reportError(new Error("The start must be before the end."), "The range is not valid");
      return;
    }
    customRange = { from, to };
    loadHistory();
  });
  $("export-csv").addEventListener("click", () => {
    history.download(false).catch((error) => app.reportError(error, "The CSV could not be downloaded"));
  });
  listElement.addEventListener("keydown", (event) => {
    // Arrow keys move between devices, as in a listbox.
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...listElement.querySelectorAll("button")];
    const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    if (index < 0) return;
    event.preventDefault();
    const next = buttons[index + (event.key === "ArrowDown" ? 1 : -1)];
    next?.focus();
  });

  function selectedDevice() {
    return devices.find((device) => device.id === selectedId) ?? null;
  }

  /** The selected device's definition of a metric (display name, unit), if its admin gave one. */
  function definitionOf(name) {
    return selectedDevice()?.points[name] ?? null;
  }

  async function loadDevices() {
    const all = [];
    let cursor = null;
    do {
      const page = await api.devices(cursor);
      all.push(...page.devices);
      cursor = page.next_cursor;
    } while (cursor && all.length < 1000);
    const previous = new Map(devices.map((device) => [device.id, device]));
    devices = all
      .map((device) => ({
        id: String(device.id),
        name: String(device.name),
        location: device.location ?? null,
        points: device.points ?? {},
        latest: previous.get(String(device.id))?.latest ?? null,
      }))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    lastListLoadMs = Date.now();
    bind("device-count").textContent = devices.length ? `(${devices.length})` : "";
    renderList();
    if (selectedId) settings.show(selectedDevice());
    // Fill the first devices' latest readings at once, so that the list is useful at once; the round robin
    // fills the rest, within the budget.
    await Promise.all(
      devices
        .filter((device) => device.id !== selectedId && !device.latest)
        .slice(0, OTHER_DEVICE_QUERIES_PER_MINUTE)
        .map((device) => refreshLatest(device)),
    );
    renderList();
  }

  async function refreshLatest(device) {
    const [latest] = await api.latest(device.id, 1);
    device.latest = latest ?? null;
  }

  /** One other device per tick, round robin: the budget is per minute, not per device. */
  async function pollOthers() {
    if (Date.now() - lastListLoadMs > LIST_RELOAD_MS) {
      await loadDevices();
      return;
    }
    const others = devices.filter((device) => device.id !== selectedId);
    if (others.length === 0) return;
    // Each device is refreshed about every (others × 3 s): a fleet of 10 is fresh within 30 s.
    const device = others[otherIndex % others.length];
    otherIndex += 1;
    await refreshLatest(device);
    renderList();
  }

  async function pollChart() {
    if (!selectedId) return;
    const deviceId = selectedId;
    const fresh = await api.latest(deviceId, getConfig().chart_points);
    if (deviceId !== selectedId) return;
    points = fresh;
    const device = devices.find((candidate) => candidate.id === deviceId);
    if (device) device.latest = points[0] ?? device.latest;
    renderChart();
    renderList();
  }

  function renderList() {
    const filter = filterInput.value.trim().toLowerCase();
    const visible = devices.filter((device) => !filter || device.name.toLowerCase().includes(filter));
    const now = Date.now();
    // The list is rebuilt on every poll: a keyboard user keeps their place on the device they were on.
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const focusedId = focused && listElement.contains(focused) ? focused.dataset.deviceId : undefined;
    listElement.replaceChildren(
      ...groupDevices(visible).map((entry) => {
        if ("heading" in entry) {
          const heading = document.createElement("li");
          heading.className = "device-group";
          heading.textContent = entry.heading;
          return heading;
        }
        const device = entry.device;
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "device";
        button.dataset.deviceId = device.id;
        if (device.id === selectedId) button.setAttribute("aria-current", "true");
        const latest = device.latest;
        const metricNames = latest ? sortMetrics(Object.keys(latest.metrics ?? {})) : [];
        const headline = metricNames[0];
        const state = latest ? freshness(latest.timestamp_ms, now) : "old";
        const value = headline
          ? formatWithUnit(latest.metrics[headline], headline, device.points[headline])
          : "No data";
        const secondary = metricNames
          .filter((name) => name === "co2_ppm" || name === "humidity_pct")
          .map((name) => formatWithUnit(latest.metrics[name], name, device.points[name]))
          .join(" · ");
        button.innerHTML = `
          <span class="device-top">
            <span class="device-name"></span>
            <span class="device-value"></span>
          </span>
          <span class="device-bottom">
            <span class="device-age"><span class="dot dot-${state}" aria-hidden="true"></span><span class="age-text"></span></span>
            <span class="device-secondary"></span>
          </span>`;
        button.querySelector(".device-name").textContent = device.name;
        button.querySelector(".device-value").textContent = value;
        button.querySelector(".device-secondary").textContent = secondary;
        const age = button.querySelector(".age-text");
        age.dataset.timestamp = latest ? String(latest.timestamp_ms) : "";
        age.textContent = latest ? `updated ${formatAge(latest.timestamp_ms, now)}` : "no readings yet";
        button.setAttribute(
          "aria-label",
          `${device.name}: ${value}, ${latest ? `updated ${formatAge(latest.timestamp_ms, now)}` : "no readings yet"}`,
        );
        button.addEventListener("click", () => app.navigate(`#/live/${encodeURIComponent(device.id)}`));
        item.append(button);
        return item;
      }),
    );
    $("devices-empty").hidden = devices.length > 0;
    if (focusedId) {
      for (const button of listElement.querySelectorAll("button")) {
        if (/** @type {HTMLElement} */ (button).dataset.deviceId === focusedId) button.focus();
      }
    }
  }

  /** Live polls the last points; any other range shows the history (and stops polling). */
  function applyRange() {
    const live = range === "live";
    $("custom-range").hidden = range !== "custom";
    $("export-csv").hidden = live;
    if (live) {
      history.hide();
      $("chart-empty").hidden = true;
      if (selectedId) chartPoller.start();
      renderChart();
      return;
    }
    chartPoller.stop();
    chart.destroy();
    $("chart").hidden = true;
    $("reading-values").hidden = true;
    $("readout").hidden = true;
    if (range === "custom" && !customRange) {
      const local = (ms) => {
        const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
        return date.toISOString().slice(0, 16);
      };
      /** @type {HTMLInputElement} */ ($("custom-from")).value = local(Date.now() - 24 * 3_600_000);
      /** @type {HTMLInputElement} */ ($("custom-to")).value = local(Date.now());
      return;
    }
    loadHistory();
  }

  async function loadHistory() {
    if (!selectedId || range === "live") return;
    const span = range === "custom" ? customRange : { from: Date.now() - RANGES[range], to: Date.now() };
    if (!span) return;
    try {
      if (await history.load(selectedId, span)) renderHistory();
    } catch (error) {
      app.reportError(error, "The history could not be loaded");
    }
  }

  function renderHistory() {
    const device = devices.find((candidate) => candidate.id === selectedId);
    bind("chart-title").textContent = device ? device.name : "Device";
    const label = range === "custom" ? "Custom range" : `Last ${range.replace(/(\d+)/, "$1 ")}`;
    bind("chart-subtitle").textContent =
      `${label} · ${history.interval} buckets: average with minimum–maximum band · times in your local time zone`;
    const metrics = sortMetrics(history.metrics());
    if (!selectedMetric || !metrics.includes(selectedMetric)) selectedMetric = defaultMetric(metrics);
    renderPicker(metrics);
    const summary = history.render(selectedMetric, definitionOf(selectedMetric));
    $("history-chart").setAttribute(
      "aria-label",
      selectedMetric
        ? `History of ${describeMetric(selectedMetric, definitionOf(selectedMetric)).label}: ${label.toLowerCase()}`
        : "History",
    );
    if (summary) renderStats(summary, "Readings");
  }

  /** @param {{ min: number, mean: number, max: number, count: number }} summary */
  function renderStats(summary, countLabel) {
    const stats = $("stats");
    stats.hidden = false;
    const entries = [
      ["Minimum", formatWithUnit(summary.min, selectedMetric, definitionOf(selectedMetric))],
      ["Average", formatWithUnit(summary.mean, selectedMetric, definitionOf(selectedMetric))],
      ["Maximum", formatWithUnit(summary.max, selectedMetric, definitionOf(selectedMetric))],
      [countLabel, summary.count.toLocaleString("en-US")],
    ];
    stats.replaceChildren(
      ...entries.map(([term, value]) => {
        const wrapper = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = term;
        dd.textContent = value;
        wrapper.append(dt, dd);
        return wrapper;
      }),
    );
  }

  function renderChart() {
    if (range !== "live" && selectedId) {
      renderHistory();
      return;
    }
    const device = devices.find((candidate) => candidate.id === selectedId);
    bind("chart-title").textContent = device ? device.name : selectedId ? "Device" : "Select a device";
    bind("chart-subtitle").textContent = selectedId
      ? `Last ${getConfig().chart_points} readings · refreshed every ${Math.round(getConfig().poll_interval_ms / 1000)} s · times in your local time zone`
      : "Choose a device on the left to see its live readings.";

    const names = new Set();
    for (const point of points) for (const name of Object.keys(point.metrics ?? {})) names.add(name);
    const metrics = sortMetrics([...names]);
    settings.metricsSeen(metrics);
    if (!selectedMetric || !names.has(selectedMetric)) selectedMetric = defaultMetric(metrics);
    renderPicker(metrics);

    const empty = $("chart-empty");
    const readout = $("readout");
    const stats = $("stats");
    $("reading-values").hidden = true;
    if (!selectedId || points.length === 0 || !selectedMetric) {
      chart.destroy();
      readout.hidden = true;
      stats.hidden = true;
      empty.hidden = !selectedId;
      empty.textContent = "No readings yet. The chart fills in as the device reports.";
      $("chart").hidden = true;
      return;
    }
    empty.hidden = true;
    const single = points.length === 1;
    $("chart").hidden = single;
    $("reading-values").hidden = !single;
    if (single) {
      chart.destroy();
      renderReadingValues($("reading-list"), points[0], selectedDevice()?.points ?? {});
    }
    const withSetpoint = selectedMetric === "zone_temp_c" && names.has("setpoint_c");
    const columns = toColumns(points, withSetpoint ? [selectedMetric, "setpoint_c"] : [selectedMetric]);
    const definition = definitionOf(selectedMetric);
    if (!single) {
      chart.render(
        selectedMetric,
        columns,
        withSetpoint,
        definition,
        outOfRangeColumn(points, selectedMetric),
      );
    }
    $("chart").setAttribute(
      "aria-label",
      `Chart of ${describeMetric(selectedMetric, definitionOf(selectedMetric)).label} over the last ${points.length} readings`,
    );

    const latest = points[0];
    const { unit, label } = describeMetric(selectedMetric, definition);
    // The API flags a value outside its point's valid range: said in words, not by colour alone.
    const flagged = latest.out_of_range?.includes(selectedMetric) ?? false;
    readout.hidden = false;
    readout.dataset.outOfRange = String(flagged);
    bind("readout-value").textContent = formatValue(
      latest.metrics[selectedMetric],
      selectedMetric,
      definition,
    );
    bind("readout-unit").textContent = unit;
    const meta = bind("readout-meta");
    meta.dataset.timestamp = String(latest.timestamp_ms);
    meta.dataset.label = flagged ? `${label} · outside its valid range` : label;
    meta.textContent = `${label} · updated ${formatAge(latest.timestamp_ms)}`;

    const summary = single ? null : summarize(columns[1]);
    stats.hidden = !summary;
    if (summary) renderStats(summary, "Readings");
  }

  function renderPicker(metrics) {
    // Rebuilt when the metrics or their names change (another device may define the same metric otherwise).
    const signature = JSON.stringify(metrics.map((name) => [name, definitionOf(name)]));
    if (picker.dataset.signature !== signature) {
      picker.dataset.signature = signature;
      picker.replaceChildren(
        ...metrics.map((name) => {
          const { label, unit } = describeMetric(name, definitionOf(name));
          const id = `metric-${name}`;
          const wrapper = document.createElement("span");
          wrapper.className = "segment";
          const input = document.createElement("input");
          input.type = "radio";
          input.name = "metric";
          input.id = id;
          input.value = name;
          const text = document.createElement("label");
          text.htmlFor = id;
          text.textContent = unit ? `${label} (${unit})` : label;
          wrapper.append(input, text);
          return wrapper;
        }),
      );
    }
    for (const input of picker.querySelectorAll("input")) {
      /** @type {HTMLInputElement} */ (input).checked =
        /** @type {HTMLInputElement} */ (input).value === selectedMetric;
    }
    picker.hidden = metrics.length === 0;
  }

  /** Ages tick every second without touching the network. */
  function tickAges() {
    const now = Date.now();
    for (const element of document.querySelectorAll("#device-list .age-text")) {
      const timestamp = Number(/** @type {HTMLElement} */ (element).dataset.timestamp);
      if (timestamp) element.textContent = `updated ${formatAge(timestamp, now)}`;
    }
    const meta = bind("readout-meta");
    const timestamp = Number(meta.dataset.timestamp);
    if (timestamp) meta.textContent = `${meta.dataset.label} · updated ${formatAge(timestamp, now)}`;
    const status = bind("live-status");
    if (chartPoller.running && chartPoller.lastRunMs) {
      const state = chartPoller.failures > 0 ? "retrying" : "live";
      // The status is a live region: rewrite it only when it changes, or screen readers repeat it every
      // second.
      if (status.dataset.state !== state) {
        status.dataset.state = state;
        status.innerHTML =
          state === "retrying"
            ? '<span class="dot dot-stale" aria-hidden="true"></span> Retrying'
            : '<span class="dot dot-live" aria-hidden="true"></span> Live';
      }
      status.title = `Last checked ${formatAge(chartPoller.lastRunMs, now)}`;
    } else if (status.dataset.state) {
      delete status.dataset.state;
      status.textContent = "";
    }
  }

  return {
    /** @param {string | null} deviceId */
    async enter(deviceId) {
      const entry = ++entries;
      if (!active) {
        active = true;
        ageTimer = setInterval(tickAges, 1000);
        try {
          await loadDevices();
        } catch (error) {
          app.reportError(error, "The device list could not be loaded");
        }
        listPoller.start();
        // A device chosen while the list was loading (a click on its first rows) wins over the default.
        if (entry !== entries) return;
      }
      const target = deviceId ?? devices[0]?.id ?? null;
      if (target !== selectedId) {
        selectedId = target;
        points = [];
        chart.destroy();
        renderList();
        settings.show(selectedDevice());
        chartPoller.stop();
        if (range === "live") {
          renderChart();
          if (selectedId) chartPoller.start();
        } else loadHistory();
      } else if (selectedId && range === "live" && !chartPoller.running) chartPoller.start();
      if (!selectedId) renderChart();
    },
    leave() {
      active = false;
      chartPoller.stop();
      listPoller.stop();
      if (ageTimer) clearInterval(ageTimer);
      ageTimer = null;
    },
    reset() {
      this.leave();
      devices = [];
      selectedId = null;
      selectedMetric = null;
      points = [];
      chart.destroy();
      settings.hide();
      listElement.replaceChildren();
    },
  };
}
