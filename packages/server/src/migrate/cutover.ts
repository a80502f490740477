import type { Firestore } from "@google-cloud/firestore";
import { telemetryIndexReady } from "../bootstrap/indexes.js";
import type { Config } from "../config/env.js";
import type { ControlPlane } from "../gcp/control-plane.js";
import { createControlPlane } from "../gcp/select.js";
import type { TelemetryFlipGate } from "../stores/routing/flag-change.js";
import { lastCompareResult } from "./runtime.js";

/**
 * Why telemetry reads may not move to Firestore yet (docs/design/store-routing.md): the composite
 * indexes must be READY (always, on the emulator), whenever reads move; at the end of a dual-write window
 * the last sample comparison must be green too. An empty list means the flip may go ahead.
 */
export function telemetryFlipGate(
  firestore: Firestore,
  config: Pick<Config, "firestore" | "gcp">,
): TelemetryFlipGate {
  const target = config.firestore;
  // The emulator has no index management: its queries never wait for an index.
  const controlPlane = (): ControlPlane | null =>
    target.kind === "project"
      ? createControlPlane("rest", { projectId: target.projectId, databaseId: target.databaseId }, config.gcp)
      : null;
  return async ({ endingDualWrite }) => {
    const blockers: string[] = [];
    let ready = false;
    try {
      ready = await telemetryIndexReady(controlPlane());
    } catch (error) {
      blockers.push(`the telemetry index state could not be read: ${(error as Error).message}`);
    }
    if (!ready && blockers.length === 0)
      blockers.push("the telemetry composite indexes are not READY (firebrick indexes status)");
    if (!endingDualWrite) return blockers;
    const compare = await lastCompareResult(firestore);
    if (!compare)
      blockers.push("no sample comparison has been run (firebrick compare telemetry --from … --sample N)");
    else if (!compare.green)
      blockers.push("the last sample comparison found mismatches (firebrick compare telemetry)");
    return blockers;
  };
}
