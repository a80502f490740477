// The one methodology every comparison in the bench follows (bench/README.md, "How a comparison is
// measured"): on a shared machine the load changes from second to second and a process gets faster as it
// warms up (JIT, the emulator's JVM, the page cache), so a figure measured once against a baseline measured
// once before it says more about when each ran than about either.
// - Every side runs warm-up rounds first, unmeasured.
// - Then `rounds` rounds; in each, every side runs once, and the order alternates: A B C, then C B A, …, so
//   that neither side always runs first (into a colder machine) or last.
// - A ratio is taken within each round (candidate / baseline of the same round: a paired ratio), and the
//   figure is the median of those ratios with their range. Five rounds by default: the range of five
//   paired ratios is what tells a real difference from noise.
import { type Spread, spread } from "./stats.js";

export interface AlternateOptions {
  /** Measured rounds (default: the bench's `BENCH_ROUNDS`, 5). */
  rounds: number;
  /** Unmeasured rounds first (default 1). */
  warmup?: number;
  /** Called after each measured round, e.g. to print progress. */
  onRound?: (round: number) => void;
}

/**
 * Runs every side `rounds` times, alternating the order each round, after `warmup` unmeasured rounds.
 * Returns each side's results in round order, so that `paired` can match them up.
 *
 * @example
 * const results = await alternate({ raw: () => rawRate(), http: () => httpRate() }, { rounds: 5 });
 * const ratio = paired(results.http, results.raw, (r) => r);
 */
export async function alternate<K extends string, T>(
  sides: Record<K, () => Promise<T>>,
  options: AlternateOptions,
): Promise<Record<K, T[]>> {
  const names = Object.keys(sides) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as T[]])) as Record<K, T[]>;
  const warmup = options.warmup ?? 1;
  for (let round = -warmup; round < options.rounds; round++) {
    const order = (round + warmup) % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const result = await sides[name]();
      if (round >= 0) results[name].push(result);
    }
    if (round >= 0) options.onRound?.(round);
  }
  return results;
}

/** The median and range of the per-round ratios `value(candidate[i]) / value(baseline[i])`. */
export function paired<T>(
  candidate: readonly T[],
  baseline: readonly T[],
  value: (result: T) => number,
): Spread {
  if (candidate.length !== baseline.length)
    throw new Error("paired ratios need one result per side per round");
  return spread(candidate.map((result, i) => value(result) / value(baseline[i]!)));
}

/** The median and range of one side's values over the rounds. */
export function over<T>(results: readonly T[], value: (result: T) => number): Spread {
  return spread(results.map(value));
}
