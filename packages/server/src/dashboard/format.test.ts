import { describe, expect, it } from "vitest";
import { describeRule, formatHeldFor, ruleFromForm } from "../../web/js/alarm-rules.js";
import { parseRetryAfter } from "../../web/js/api.js";
import { groupDevices } from "../../web/js/device-groups.js";
import { definitionFromForm, parseLabels } from "../../web/js/device-settings.js";
// The dashboard's presentation helpers are plain browser ES modules; they run in Node unchanged.
import {
  defaultMetric,
  describeMetric,
  formatAge,
  formatTick,
  formatValue,
  formatWait,
  formatWithUnit,
  freshness,
  outOfRangeColumn,
  sortMetrics,
  summarize,
  toColumns,
} from "../../web/js/format.js";
import { fieldOfMessage } from "../../web/js/forms.js";

describe("dashboard formatting", () => {
  it("names the simulator's metrics with human units", () => {
    expect(formatWithUnit(21.437, "zone_temp_c")).toBe("21.4 °C");
    expect(formatWithUnit(44.6, "humidity_pct")).toBe("45 %RH");
    expect(formatWithUnit(812.2, "co2_ppm")).toBe("812 ppm");
    expect(formatWithUnit(37.4, "damper_pct")).toBe("37%");
    expect(describeMetric("co2_ppm").label).toBe("CO₂");
  });

  it("labels axis ticks with enough digits that no two ticks read the same (a 4–7 % damper axis)", () => {
    const ticks = [4, 4.5, 5, 5.5, 6, 6.5, 7];
    const digits = (name: string) => describeMetric(name).digits;
    expect(ticks.map((tick) => formatTick(tick, 0.5, digits("damper_pct")))).toEqual([
      "4.0",
      "4.5",
      "5.0",
      "5.5",
      "6.0",
      "6.5",
      "7.0",
    ]);
    expect([4, 5, 6, 7].map((tick) => formatTick(tick, 1, digits("damper_pct")))).toEqual([
      "4",
      "5",
      "6",
      "7",
    ]);
    expect(formatTick(21.25, 0.25, digits("zone_temp_c"))).toBe("21.25");
    expect(formatTick(800, 200, digits("co2_ppm"))).toBe("800");
  });

  it("guesses label and unit of unknown metrics from their suffix, and shows a dash for no value", () => {
    expect(describeMetric("static_pressure_pa")).toMatchObject({ label: "Static pressure", unit: "Pa" });
    expect(describeMetric("fan_status")).toMatchObject({ label: "Fan status", unit: "" });
    expect(formatWithUnit(undefined, "zone_temp_c")).toBe("—");
  });

  it("orders known metrics first, zone temperature being the default", () => {
    expect(sortMetrics(["zzz", "damper_pct", "co2_ppm", "zone_temp_c"])).toEqual([
      "zone_temp_c",
      "co2_ppm",
      "damper_pct",
      "zzz",
    ]);
    expect(defaultMetric(["co2_ppm", "zone_temp_c"])).toBe("zone_temp_c");
    expect(defaultMetric([])).toBeNull();
  });

  it("says how old a reading is in words readable at a glance", () => {
    const now = 1_700_000_000_000;
    expect(formatAge(now - 500, now)).toBe("just now");
    expect(formatAge(now - 12_000, now)).toBe("12 s ago");
    expect(formatAge(now - 4 * 60_000, now)).toBe("4 min ago");
    expect(formatAge(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(formatAge(now - 3 * 86_400_000, now)).toBe("3 d ago");
    expect(freshness(now - 10_000, now)).toBe("live");
    expect(freshness(now - 600_000, now)).toBe("stale");
    expect(freshness(now - 7_200_000, now)).toBe("old");
  });

  it("turns latest-first API points into oldest-first chart columns, with gaps for missing metrics", () => {
    const points = [
      { timestamp_ms: 3000, metrics: { zone_temp_c: 21.3 } },
      { timestamp_ms: 2000, metrics: { co2_ppm: 600 } },
      { timestamp_ms: 1000, metrics: { zone_temp_c: 21.1, co2_ppm: 580 } },
    ];
    expect(toColumns(points, ["zone_temp_c", "co2_ppm"])).toEqual([
      [1000, 2000, 3000],
      [21.1, null, 21.3],
      [580, 600, null],
    ]);
    expect(summarize([21.1, null, 21.3])).toMatchObject({ min: 21.1, max: 21.3, count: 2 });
    expect(summarize([null])).toBeNull();
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("7", 0)).toBe(7000);
    expect(parseRetryAfter(new Date(30_000).toUTCString(), 0)).toBe(30_000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("formatWait", () => {
  it("says a sign-in lockout in minutes, and a short wait in seconds", () => {
    expect(formatWait(889_000)).toBe("about 15 minutes");
    expect(formatWait(60_000)).toBe("about 1 minute");
    expect(formatWait(40_000)).toBe("40 s");
    expect(formatWait(0)).toBe("1 s");
    expect(formatWait(3 * 3_600_000)).toBe("about 3 hours");
  });
});

describe("point definitions and places", () => {
  it("names a metric as the device's point definition says, and guesses only without one", () => {
    const definition = { name: "Supply air temperature", unit: "°F" };
    expect(describeMetric("zone_temp_c", definition)).toMatchObject({
      label: "Supply air temperature",
      unit: "°F",
    });
    expect(formatWithUnit(71.25, "zone_temp_c", definition)).toBe("71.3 °F");
    expect(formatWithUnit(3, "valve_state", { name: "Valve", unit: null })).toBe("3.0");
    expect(describeMetric("zone_temp_c", null)).toMatchObject({ label: "Zone temperature", unit: "°C" });
  });

  it("groups devices by site, building and floor, the unplaced last, and not at all when none is placed", () => {
    const device = (name: string, location: Record<string, string | null> | null) => ({ name, location });
    const a = device("a", { site: "HQ", building: "B", floor: "L2", zone: "East" });
    const b = device("b", null);
    const c = device("c", { site: "HQ", building: "A", floor: null, zone: null });
    expect(groupDevices([a, b, c])).toEqual([
      { heading: "HQ · A" },
      { device: c },
      { heading: "HQ · B · L2" },
      { device: a },
      { heading: "No location" },
      { device: b },
    ]);
    expect(groupDevices([b])).toEqual([{ device: b }]);
  });
});

describe("points by their definitions", () => {
  it("reads a boolean point as on/off and an enum point by its labels, with no unit; a number keeps its unit", () => {
    const fan = { name: "Supply fan", kind: "boolean", unit: "x" } as const;
    expect(formatWithUnit(1, "fan_cmd", fan)).toBe("on");
    expect(formatWithUnit(0, "fan_cmd", fan)).toBe("off");
    const mode = { name: "Mode", kind: "enum", labels: { "0": "off", "2": "cool" } } as const;
    expect(formatValue(2, "mode", mode)).toBe("cool");
    expect(formatValue(3, "mode", mode)).toBe("3");
    expect(describeMetric("mode", mode)).toMatchObject({ label: "Mode", unit: "", labels: { "2": "cool" } });
    expect(
      describeMetric("valve", { name: "Valve", kind: "number", unit: "%", min: 0, max: 100 }),
    ).toMatchObject({ label: "Valve", unit: "%", min: 0, max: 100, labels: null });
  });

  it("lines the API's out-of-range flags up with the chart's times, oldest first", () => {
    const points = [
      { timestamp_ms: 3000, metrics: { v: 120 }, out_of_range: ["v"] },
      { timestamp_ms: 2000, metrics: { v: 50 } },
      { timestamp_ms: 1000, metrics: { v: -4, w: 1 }, out_of_range: ["v"] },
    ];
    expect(outOfRangeColumn(points, "v")).toEqual([-4, null, 120]);
    expect(outOfRangeColumn(points, "w")).toEqual([null, null, null]);
  });
});

describe("editing forms", () => {
  it("finds the field an API refusal names: its path first, else the first field in its words", () => {
    const fields = ["metric", "threshold", "min", "max", "for_ms"];
    expect(fieldOfMessage("body/threshold must be number", fields)).toBe("threshold");
    expect(fieldOfMessage("body/location/site must NOT have more than 64 characters", ["site", "zone"])).toBe(
      "site",
    );
    expect(fieldOfMessage('op "outside" takes min and max (min ≤ max) and no threshold', fields)).toBe("min");
    expect(fieldOfMessage("an offline rule's for_ms is at least 120000 (2 min)", fields)).toBe("for_ms");
    expect(fieldOfMessage("something else went wrong", fields)).toBeNull();
  });

  it("builds a rule from the form with only the fields its kind and condition take", () => {
    const form = (entries: Record<string, string>) => {
      const data = new FormData();
      for (const [name, value] of Object.entries(entries)) data.set(name, value);
      return data;
    };
    const base = { severity: "major", metric: "t", threshold: "28", min: "1", max: "9", for_ms: "5" };
    expect(ruleFromForm("d", form({ ...base, kind: "threshold", op: ">" }))).toEqual({
      device_id: "d",
      kind: "threshold",
      metric: "t",
      op: ">",
      threshold: 28,
      for_ms: 300_000,
      severity: "major",
    });
    expect(ruleFromForm("d", form({ ...base, kind: "threshold", op: "outside" }))).toMatchObject({
      min: 1,
      max: 9,
    });
    expect(ruleFromForm("d", form({ ...base, kind: "offline", op: ">" }))).toEqual({
      device_id: "d",
      kind: "offline",
      for_ms: 300_000,
      severity: "major",
    });
    // Not a number: sent as typed, for the server to refuse next to its field.
    expect(ruleFromForm("d", form({ ...base, kind: "threshold", op: "<", threshold: "warm" }))).toMatchObject(
      {
        threshold: "warm",
      },
    );
  });

  it("names rules as their point definitions say, and how long they hold", () => {
    const definitions = { t: { name: "Supply air", unit: "°F", kind: "number" } };
    expect(describeRule({ kind: "threshold", metric: "t", op: ">", threshold: 80 }, definitions)).toBe(
      "Supply air > 80.0 °F",
    );
    expect(describeRule({ kind: "threshold", metric: "damper_pct", op: "outside", min: 10, max: 90 })).toBe(
      "Damper outside 10% – 90%",
    );
    expect(describeRule({ kind: "offline" })).toBe("Offline");
    expect([0, 45_000, 300_000, 9_000_000].map(formatHeldFor)).toEqual([
      "at once",
      "45 s",
      "5 min",
      "2 h 30 min",
    ]);
  });

  it("builds a point definition from the form: labels as code=label pairs, the kind's fields only", () => {
    expect(parseLabels("0=off, 1 = heat,2=cool,")).toEqual({ "0": "off", "1": "heat", "2": "cool" });
    const data = new FormData();
    for (const [name, value] of Object.entries({
      name: "Valve",
      kind: "number",
      unit: "%",
      min: "0",
      max: "",
    }))
      data.set(name, value);
    expect(definitionFromForm(data)).toEqual({ name: "Valve", kind: "number", unit: "%", min: 0, max: null });
    data.set("kind", "enum");
    data.set("labels", "0=auto");
    expect(definitionFromForm(data)).toEqual({ name: "Valve", kind: "enum", labels: { "0": "auto" } });
  });
});
