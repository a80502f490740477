/**
 * A small, deterministic model of one VAV zone of a building-automation system, used to feed plausible
 * telemetry into Firebrick. Deterministic given a seed and the timestamps it is stepped through, so that
 * tests can assert on its behaviour without a network or a clock.
 *
 * The model is deliberately simple (first-order thermal response, a P-controller on the damper, CO₂ from
 * occupancy with a ventilation decay) but its series look like a real zone's: the temperature tracks the
 * setpoint with noise, CO₂ rises during occupied hours and falls at night, the damper opens with demand.
 */

import { seededRandom } from "../seeded-random.js";

/** The metrics one reading carries, with the units the dashboard shows. */
export interface ZoneMetrics {
  /** Zone air temperature, °C. */
  zone_temp_c: number;
  /** Active setpoint, °C (occupied 21.5, unoccupied set-back 17). */
  setpoint_c: number;
  /** Relative humidity, %RH. */
  humidity_pct: number;
  /** CO₂ concentration, ppm. */
  co2_ppm: number;
  /** Supply-air temperature leaving the terminal unit, °C. */
  supply_air_temp_c: number;
  /** VAV damper position, % open. */
  damper_pct: number;
}

export const METRIC_NAMES = [
  "zone_temp_c",
  "setpoint_c",
  "humidity_pct",
  "co2_ppm",
  "supply_air_temp_c",
  "damper_pct",
] as const satisfies readonly (keyof ZoneMetrics)[];

const OCCUPIED_SETPOINT_C = 21.5;
const UNOCCUPIED_SETPOINT_C = 17;
const OUTDOOR_CO2_PPM = 420;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Occupancy from 0 (empty) to 1 (full) at a UTC time: weekdays 08:00–18:00 with a lunch dip, weekends
 * empty. UTC on purpose: the simulator has no idea where its building is, and tests must not depend on
 * the machine's time zone.
 */
export function occupancyAt(timestampMs: number): number {
  const date = new Date(timestampMs);
  const day = date.getUTCDay();
  if (day === 0 || day === 6) return 0;
  const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
  if (hour < 8 || hour >= 18) return 0;
  // Ramp up over the first hour, down over the last, dip at lunch.
  const ramp = Math.min(1, hour - 8, 18 - hour);
  const lunch = hour >= 12 && hour < 13.5 ? 0.45 : 1;
  return ramp * lunch * 0.9;
}

export function setpointAt(timestampMs: number): number {
  const date = new Date(timestampMs);
  const day = date.getUTCDay();
  const hour = date.getUTCHours();
  // Pre-start one hour before occupancy so that the zone is at temperature when people arrive.
  const occupiedSchedule = day !== 0 && day !== 6 && hour >= 7 && hour < 19;
  return occupiedSchedule ? OCCUPIED_SETPOINT_C : UNOCCUPIED_SETPOINT_C;
}

export interface ZoneOptions {
  seed: number;
  /** Time of the first reading; the model starts in equilibrium with its setpoint then. */
  startMs: number;
}

/** One simulated zone. Call `next(t)` with non-decreasing timestamps. */
export class ZoneModel {
  readonly #random: () => number;
  #lastMs: number;
  #temp: number;
  #humidity: number;
  #co2: number;
  #damper: number;
  /** Per-zone character, so that ten zones do not draw ten identical lines. */
  readonly #solarGain: number;
  readonly #peopleDensity: number;

  constructor(options: ZoneOptions) {
    this.#random = seededRandom(options.seed);
    this.#lastMs = options.startMs;
    this.#solarGain = 0.6 + this.#random() * 0.8;
    this.#peopleDensity = 0.7 + this.#random() * 0.6;
    this.#temp = setpointAt(options.startMs) + (this.#random() - 0.5);
    this.#humidity = 40 + this.#random() * 8;
    this.#co2 = OUTDOOR_CO2_PPM + 30 + occupancyAt(options.startMs) * 500 * this.#peopleDensity;
    this.#damper = 20;
  }

  /** Gaussian noise (Box–Muller) with the given standard deviation. */
  #noise(sd: number): number {
    const u = Math.max(this.#random(), 1e-12);
    const v = this.#random();
    return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  next(timestampMs: number): ZoneMetrics {
    const dtMin = Math.max(0, timestampMs - this.#lastMs) / MINUTE_MS;
    this.#lastMs = Math.max(this.#lastMs, timestampMs);
    const occupancy = occupancyAt(timestampMs);
    const setpoint = setpointAt(timestampMs);

    // Damper: proportional to the temperature error (cooling demand) plus demand-controlled ventilation
    // on CO₂; 15 % minimum for fresh air when occupied.
    const error = this.#temp - setpoint;
    const ventilationDemand = Math.max(0, (this.#co2 - 700) / 6);
    const minimum = occupancy > 0 ? 15 : 5;
    const target = clamp(minimum + Math.max(0, error) * 45 + ventilationDemand, 0, 100);
    // The actuator moves at most ~20 %/min.
    const step = clamp(target - this.#damper, -20 * Math.max(dtMin, 0.1), 20 * Math.max(dtMin, 0.1));
    this.#damper = clamp(this.#damper + step + this.#noise(0.4), 0, 100);

    // Supply air: cooling coil at ~13 °C when the zone is above setpoint, reheat up to ~32 °C below it.
    const supply = clamp(error >= 0 ? 13 + this.#noise(0.3) : 13 + Math.min(19, -error * 12), 11, 34);

    // Zone temperature: internal and solar gains heat it, supply air pulls it towards the supply
    // temperature in proportion to the airflow, reheat pushes it back up when below setpoint.
    const hour = new Date(timestampMs).getUTCHours() + new Date(timestampMs).getUTCMinutes() / 60;
    const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI)) * this.#solarGain;
    const gains = 0.03 * occupancy * this.#peopleDensity + 0.015 * sun;
    const airflow = this.#damper / 100;
    const coolingPull = 0.02 * airflow * (supply - this.#temp);
    const reheat = error < 0 ? Math.min(0.08, -error * 0.04) : 0;
    const envelopeLoss = 0.004 * (15 - this.#temp);
    this.#temp += (gains + coolingPull + reheat + envelopeLoss) * dtMin + this.#noise(0.03);

    // CO₂: people add it, ventilation (proportional to damper) decays it towards outdoor air.
    const generation = 9 * occupancy * this.#peopleDensity;
    const decay = (0.01 + 0.05 * airflow) * (this.#co2 - OUTDOOR_CO2_PPM);
    this.#co2 = Math.max(OUTDOOR_CO2_PPM, this.#co2 + (generation - decay) * dtMin + this.#noise(3));

    // Humidity: people add a little moisture, ventilation dries towards 38 %RH.
    this.#humidity = clamp(
      this.#humidity + (0.05 * occupancy - 0.01 * (this.#humidity - 38)) * dtMin + this.#noise(0.15),
      20,
      70,
    );

    return {
      zone_temp_c: round(this.#temp, 2),
      setpoint_c: setpoint,
      humidity_pct: round(this.#humidity, 1),
      co2_ppm: Math.round(this.#co2),
      supply_air_temp_c: round(supply, 1),
      damper_pct: round(this.#damper, 1),
    };
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export { HOUR_MS, MINUTE_MS };
