import type { Stores } from "../types.js";

/**
 * The areas a routing flag moves between SQLite and Firestore (docs/design/store-routing.md), in the
 * migration plan's cutover order. Every list of areas elsewhere is derived from this one.
 */
export const AREAS = ["telemetry", "audit", "auth"] as const;
export type Area = (typeof AREAS)[number];

/** The stores each area owns: a flag moves all of them together. */
export const AREA_OF_STORE = {
  tenants: "auth",
  users: "auth",
  sessions: "auth",
  // Device tokens are credentials and device ids are what users and telemetry refer to; they move with
  // the auth area so that a tenant's users, sessions and devices always live in one store.
  devices: "auth",
  telemetry: "telemetry",
  audit: "audit",
} as const satisfies Record<keyof Stores, Area>;

/** The stores of one area, e.g. `["tenants", "users", "sessions", "devices"]` for `auth`. */
export function storesOfArea(area: Area): (keyof Stores)[] {
  return (Object.keys(AREA_OF_STORE) as (keyof Stores)[]).filter((store) => AREA_OF_STORE[store] === area);
}

/** One value per area, in `AREAS` order. */
export function perArea<T>(value: (area: Area) => T): Record<Area, T> {
  return Object.fromEntries(AREAS.map((area) => [area, value(area)])) as Record<Area, T>;
}
