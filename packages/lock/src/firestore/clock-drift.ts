import type { Firestore } from "@google-cloud/firestore";
import { checkAborted } from "../common/abort.js";
import { LockError } from "../common/errors.js";
import { withErrorMapping } from "./errors.js";

/**
 * The clock-drift policy ladder of client-time locks (ADR-020, docs/adr/ADR-020-clock-drift-checks.md):
 * aim for ±100 ms, alert at ±200 ms, refuse to run (block deployments, fail readiness) at ±500 ms. The
 * liveness tolerance (`TIME_TOLERANCE_MS`, 1000 ms) is larger than the block threshold on purpose.
 */
export const CLOCK_DRIFT_THRESHOLDS = {
  TARGET_MS: 100,
  WARN_MS: 200,
  BLOCK_MS: 500,
} as const;

export interface ClockDrift {
  /** This client's clock minus Firestore's, in ms: positive when the local clock runs ahead. */
  driftMs: number;
  /** Half the round trip of the sample used: the true drift lies within `driftMs ± uncertaintyMs`. */
  uncertaintyMs: number;
  /** The round trip of that sample, in ms. */
  roundTripMs: number;
  /** How many samples were taken (the one with the shortest round trip is reported). */
  samples: number;
  /** Where the drift stands on the ladder, by `|driftMs|`. */
  level: "ok" | "warn" | "block";
}

export interface MeasureClockDriftOptions {
  /** The probe document's collection (default `lock_clock`); one small document, overwritten each time. */
  collection?: string;
  /** The probe document's id (default `probe`). */
  document?: string;
  /** Commits to time (default 3); more samples find a shorter round trip. */
  samples?: number;
  /** The local clock to check (default `Date.now`). */
  now?: () => number;
  signal?: AbortSignal;
}

/**
 * Measures this client's clock against Firestore's commit time: each sample writes the probe document and
 * compares the commit's `writeTime` with the local clock at the middle of the round trip, NTP-style; the
 * sample with the shortest round trip wins. Costs one document write per sample.
 *
 * What client-time locks need checked (the clock ladder of docs/adr/ADR-020-clock-drift-checks.md: alert at ±200 ms, block at ±500 ms);
 * server-time locks do not depend on it.
 *
 * @example
 * const { driftMs, level } = await measureClockDrift(db);
 * if (level === "block") throw new Error(`clock off by ${driftMs} ms: refusing to start`);
 */
export async function measureClockDrift(
  db: Firestore,
  options: MeasureClockDriftOptions = {},
): Promise<ClockDrift> {
  const samples = options.samples ?? 3;
  if (!Number.isInteger(samples) || samples < 1 || samples > 20) {
    throw new LockError("InvalidArgument", "samples must be an integer from 1 to 20");
  }
  const now = options.now ?? Date.now;
  const probe = db.collection(options.collection ?? "lock_clock").doc(options.document ?? "probe");
  return withErrorMapping(async () => {
    let best: { driftMs: number; roundTripMs: number } | undefined;
    for (let i = 0; i < samples; i++) {
      checkAborted(options.signal);
      const sentAt = now();
      const sent = performance.now();
      // Only the commit's writeTime matters; the value is the local clock, for a reader of the document.
      // (No FieldValue: the library imports nothing of the SDK at run time, so that loading its failure
      // vocabulary never loads the SDK.)
      const { writeTime } = await probe.set({ measuredAt: sentAt });
      const roundTripMs = performance.now() - sent;
      // The commit happened somewhere in the round trip; its middle is the best guess, off by at most half.
      const driftMs = sentAt + roundTripMs / 2 - writeTime.toMillis();
      if (!best || roundTripMs < best.roundTripMs) best = { driftMs, roundTripMs };
    }
    const { driftMs, roundTripMs } = best as { driftMs: number; roundTripMs: number };
    const rounded = Math.round(driftMs);
    return {
      driftMs: rounded,
      uncertaintyMs: Math.ceil(roundTripMs / 2) + 1,
      roundTripMs: Math.round(roundTripMs),
      samples,
      level: driftLevel(rounded),
    };
  });
}

/** Where a drift stands on the ladder. */
export function driftLevel(driftMs: number): ClockDrift["level"] {
  const size = Math.abs(driftMs);
  if (size >= CLOCK_DRIFT_THRESHOLDS.BLOCK_MS) return "block";
  if (size >= CLOCK_DRIFT_THRESHOLDS.WARN_MS) return "warn";
  return "ok";
}
