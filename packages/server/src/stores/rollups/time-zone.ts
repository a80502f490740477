/**
 * Local days and months of an IANA time zone, in UTC epoch milliseconds, from `Intl` alone
 * (docs/design/trends.md): `1d` trend buckets are the tenant's local days, 23 or 25 hours long across
 * a daylight-saving change, starting at :30 or :45 past a UTC hour in zones with such offsets.
 */

// IANA names are letters, digits and `/_-+`; a raw offset ("+05:30") is not a zone a tenant lives in.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    // A handful of zones in practice; the bound only keeps a stream of odd names from growing it.
    if (formatters.size > 1000) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * Whether `name` is an IANA time zone this runtime knows (`Intl` accepts it), e.g. `Europe/Paris`, `UTC`.
 *
 * @example
 * isTimeZone("Asia/Kolkata"); // true
 * isTimeZone("Mars/Olympus"); // false
 */
export function isTimeZone(name: string): boolean {
  if (!IANA_NAME.test(name)) return false;
  try {
    formatterOf(name);
    return true;
  } catch {
    return false;
  }
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  /** Milliseconds since local midnight. */
  timeOfDay: number;
}

function wallTime(t: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatterOf(zone).formatToParts(new Date(t))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const ms = ((t % 1000) + 1000) % 1000;
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    timeOfDay: ((parts.hour! * 60 + parts.minute!) * 60 + parts.second!) * 1000 + ms,
  };
}

/** The zone's offset from UTC at `t`, in milliseconds (Asia/Kolkata: +19,800,000). */
export function offsetAt(t: number, zone: string): number {
  const wall = wallTime(t, zone);
  return Date.UTC(wall.year, wall.month - 1, wall.day) + wall.timeOfDay - t;
}

/** The first instant whose local date is (year, month, day): local midnight, or the end of a gap over it. */
function startOfDate(year: number, month: number, day: number, zone: string): number {
  const midnightAsUtc = Date.UTC(year, month - 1, day);
  let guess = midnightAsUtc - offsetAt(midnightAsUtc, zone);
  // The offset at local midnight may differ from the one at UTC midnight (a change in between).
  for (let i = 0; i < 3; i++) {
    const next = midnightAsUtc - offsetAt(guess, zone);
    if (next === guess) break;
    guess = next;
  }
  const sameDate = (t: number) => {
    const wall = wallTime(t, zone);
    return wall.year === year && wall.month === month && wall.day === day;
  };
  if (sameDate(guess) && !sameDate(guess - 1)) return guess;
  // Midnight fell into a gap (clocks jumped over it): the day starts where the gap ends. Offsets change
  // on whole minutes, so a search by minutes finds it within the few hours around the guess.
  let t = Math.floor(guess / 60_000) * 60_000 - 3 * 3_600_000;
  while (!sameDate(t)) t += 60_000;
  return t;
}

/**
 * The start of the local day that contains `t` in `zone`.
 *
 * @example
 * localDayStart(Date.UTC(2026, 0, 15, 12), "Asia/Kolkata"); // Date.UTC(2026, 0, 14, 18, 30)
 */
export function localDayStart(t: number, zone: string): number {
  const wall = wallTime(t, zone);
  return startOfDate(wall.year, wall.month, wall.day, zone);
}

/** The start of the local day after the one that starts at `dayStart`. */
export function nextLocalDayStart(dayStart: number, zone: string): number {
  // Local days are 23 to 25 hours long: 26 hours on is always inside the next one.
  const wall = wallTime(dayStart + 26 * 3_600_000, zone);
  return startOfDate(wall.year, wall.month, wall.day, zone);
}

/** The start of the local month that contains `t` in `zone`. */
export function localMonthStart(t: number, zone: string): number {
  const wall = wallTime(t, zone);
  return startOfDate(wall.year, wall.month, 1, zone);
}

/** The start of the local month after the one that contains `t`. */
export function nextLocalMonthStart(t: number, zone: string): number {
  const wall = wallTime(t, zone);
  return wall.month === 12
    ? startOfDate(wall.year + 1, 1, 1, zone)
    : startOfDate(wall.year, wall.month + 1, 1, zone);
}
