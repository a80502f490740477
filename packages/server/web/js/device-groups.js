// The device list grouped the way an operator walks a fleet: by site, building and floor, from each
// device's location tags (the zone is the device's own business and stays out of the heading).

const LEVELS = ["site", "building", "floor"];
const UNPLACED = "No location";

/** "HQ · Building A · L2", or null when the device has none of the three. */
export function placeOf(location) {
  const parts = LEVELS.map((level) => location?.[level]).filter((part) => typeof part === "string" && part);
  return parts.length ? parts.join(" · ") : null;
}

/**
 * The list in display order: each place's heading, then its devices (in the order given); devices with no
 * place last, under "No location". With no place at all, no headings: a flat list says it better.
 * @template {{ location?: any }} D
 * @param {D[]} devices
 * @returns {({ heading: string } | { device: D })[]}
 */
export function groupDevices(devices) {
  /** @type {Map<string | null, D[]>} */
  const byPlace = new Map();
  for (const device of devices) {
    const place = placeOf(device.location);
    byPlace.set(place, [...(byPlace.get(place) ?? []), device]);
  }
  if (!byPlace.has(null) || byPlace.size > 1) {
    const places = [...byPlace.keys()]
      .filter((place) => place !== null)
      .sort((a, b) => String(a).localeCompare(String(b), undefined, { numeric: true }));
    const entries = [];
    for (const place of places)
      entries.push({ heading: String(place) }, ...byPlace.get(place).map((device) => ({ device })));
    const unplaced = byPlace.get(null) ?? [];
    if (unplaced.length) entries.push({ heading: UNPLACED }, ...unplaced.map((device) => ({ device })));
    return entries;
  }
  return devices.map((device) => ({ device }));
}
