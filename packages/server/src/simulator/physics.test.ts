import { describe, expect, it } from "vitest";
import { seededRandom } from "../seeded-random.js";
import { METRIC_NAMES, occupancyAt, setpointAt, type ZoneMetrics, ZoneModel } from "./physics.js";

const MONDAY = Date.UTC(2026, 10, 23, 0, 0);
const SATURDAY = Date.UTC(2026, 10, 28, 0, 0);
const MINUTE = 60_000;

function runDay(seed: number, startMs: number, stepMs = MINUTE): { t: number; m: ZoneMetrics }[] {
  const model = new ZoneModel({ seed, startMs });
  const out = [];
  for (let t = startMs; t < startMs + 24 * 60 * MINUTE; t += stepMs) out.push({ t, m: model.next(t) });
  return out;
}

const hourOf = (t: number) => new Date(t).getUTCHours();
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe("simulator zone model", () => {
  it("produces the same series for the same seed and timestamps, and a different one for another seed", () => {
    expect(runDay(7, MONDAY)).toEqual(runDay(7, MONDAY));
    expect(runDay(7, MONDAY)).not.toEqual(runDay(8, MONDAY));
  });

  it("emits every metric, each within a physically plausible range", () => {
    for (const seed of [1, 2, 3]) {
      for (const { m } of runDay(seed, MONDAY)) {
        expect(Object.keys(m).sort()).toEqual([...METRIC_NAMES].sort());
        expect(m.zone_temp_c).toBeGreaterThan(12);
        expect(m.zone_temp_c).toBeLessThan(30);
        expect(m.humidity_pct).toBeGreaterThanOrEqual(20);
        expect(m.humidity_pct).toBeLessThanOrEqual(70);
        expect(m.co2_ppm).toBeGreaterThanOrEqual(420);
        expect(m.co2_ppm).toBeLessThan(2000);
        expect(m.supply_air_temp_c).toBeGreaterThanOrEqual(11);
        expect(m.supply_air_temp_c).toBeLessThanOrEqual(34);
        expect(m.damper_pct).toBeGreaterThanOrEqual(0);
        expect(m.damper_pct).toBeLessThanOrEqual(100);
      }
    }
  });

  it("keeps the zone temperature close to its setpoint once it has had an hour to settle", () => {
    const day = runDay(3, MONDAY);
    const settled = day.filter(({ t }) => hourOf(t) >= 9 && hourOf(t) < 18);
    const errors = settled.map(({ m }) => Math.abs(m.zone_temp_c - m.setpoint_c));
    expect(mean(errors)).toBeLessThan(1);
    // It is noisy, not a flat line.
    expect(new Set(settled.map(({ m }) => m.zone_temp_c)).size).toBeGreaterThan(50);
  });

  it("follows the occupancy cycle: CO₂ is higher in working hours than at night, and flat at weekends", () => {
    const weekday = runDay(5, MONDAY);
    const working = mean(
      weekday.filter(({ t }) => hourOf(t) >= 10 && hourOf(t) < 17).map(({ m }) => m.co2_ppm),
    );
    const night = mean(weekday.filter(({ t }) => hourOf(t) < 6).map(({ m }) => m.co2_ppm));
    expect(working).toBeGreaterThan(night + 150);
    const weekend = runDay(5, SATURDAY).map(({ m }) => m.co2_ppm);
    expect(Math.max(...weekend)).toBeLessThan(night + 150);
  });

  it("sets back the setpoint outside the occupied schedule", () => {
    expect(setpointAt(Date.UTC(2026, 10, 23, 10))).toBe(21.5);
    expect(setpointAt(Date.UTC(2026, 10, 23, 2))).toBe(17);
    expect(setpointAt(Date.UTC(2026, 10, 28, 10))).toBe(17);
    expect(occupancyAt(Date.UTC(2026, 10, 23, 10))).toBeGreaterThan(0.5);
    expect(occupancyAt(Date.UTC(2026, 10, 23, 12, 30))).toBeLessThan(occupancyAt(Date.UTC(2026, 10, 23, 10)));
    expect(occupancyAt(Date.UTC(2026, 10, 23, 22))).toBe(0);
  });

  it("does not depend on how often it is sampled beyond its noise", () => {
    const everyMinute = runDay(9, MONDAY, MINUTE);
    const everyFiveSeconds = runDay(9, MONDAY, 5_000);
    const at = (series: { t: number; m: ZoneMetrics }[], hour: number) =>
      mean(series.filter(({ t }) => hourOf(t) === hour).map(({ m }) => m.zone_temp_c));
    for (const hour of [3, 11, 15])
      expect(Math.abs(at(everyMinute, hour) - at(everyFiveSeconds, hour))).toBeLessThan(1);
  });

  it("draws uniform numbers in [0, 1) from the seeded generator", () => {
    const random = seededRandom(42);
    const draws = Array.from({ length: 10_000 }, random);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(mean(draws)).toBeGreaterThan(0.48);
    expect(mean(draws)).toBeLessThan(0.52);
  });
});
