import type { Stores } from "../stores/types.js";
import type { JobSteps } from "./job.js";
import type { JobRetrier } from "./retry.js";
import { nextAfter, sortedDeviceIds } from "./source.js";

const DAY_MS = 24 * 3600 * 1000;

/** Where a rebuild stands: the device being rebuilt and the next UTC day of it. */
type RebuildCursor = { device: string; day: number } | { done: true };

export interface RebuildOptions {
  tenant: string;
  /** One device; every device of the tenant when absent. */
  device?: string;
  from: number;
  to: number;
  retrier: JobRetrier;
  /** Days recomputed per chunk (and checkpoint). */
  daysPerChunk?: number;
}

/**
 * `firebrick rollups rebuild --tenant T [--device D] --from --to` (docs/design/trends.md): recomputes the
 * trend rollups of a range from the raw points, device by device and day by day, a checkpoint after every
 * chunk of days. Idempotent: a recomputation replaces what it covers, so a resumed or repeated run is safe.
 */
export function rebuildRollupsJob(stores: Stores, options: RebuildOptions): JobSteps<RebuildCursor> {
  const firstDay = Math.floor(options.from / DAY_MS) * DAY_MS;
  const daysPerChunk = options.daysPerChunk ?? 7;
  let devices: string[] | undefined;
  const devicesOf = async () => {
    devices ??= options.device ? [options.device] : await sortedDeviceIds(stores, options.tenant);
    return devices;
  };
  const scope = options.device ?? "all";
  return {
    name: `rollups-rebuild-${options.tenant}-${scope}-${options.from}-${options.to}`,
    units: { read: "device spans (up to a week each)", written: "points rolled up" },
    async next(cursor) {
      if (cursor && "done" in cursor) return null;
      let at = cursor;
      if (at === null) {
        const first = (await devicesOf())[0];
        if (first === undefined) return null;
        at = { device: first, day: firstDay };
      }
      const until = Math.min(at.day + daysPerChunk * DAY_MS, options.to);
      const item = { device: at.device, from: Math.max(at.day, options.from), to: until };
      let after: RebuildCursor;
      if (until < options.to) after = { device: at.device, day: until };
      else {
        const device = nextAfter(await devicesOf(), at.device);
        after = device === undefined ? { done: true } : { device, day: firstDay };
      }
      return { items: [item], cursor: after };
    },
    async apply(items, { dryRun }) {
      let written = 0;
      for (const item of items as Array<{ device: string; from: number; to: number }>) {
        if (dryRun) continue;
        const rebuilt = await options.retrier.run(() =>
          stores.telemetry.rebuildRollups(options.tenant, item.device, { from: item.from, to: item.to }),
        );
        written += rebuilt.points;
      }
      return { written };
    },
  };
}
