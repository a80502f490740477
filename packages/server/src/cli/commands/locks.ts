import { createInterface } from "node:readline/promises";
import { type LockAdmin, LockError } from "@firebrick/lock";
import type { Command } from "commander";
import type { FleetState } from "../../fleet/types.js";
import { type ServiceLocks, serviceLocks } from "../../runtime/service-locks.js";
import { CommandFailed, UsageError } from "../errors.js";
import { printTable } from "../table.js";
import { platformActor } from "./platform-actor.js";
import { withStores } from "./stores.js";

type Listing = Awaited<ReturnType<LockAdmin["list"]>>[number];

interface JsonOption {
  json?: boolean;
}

/**
 * `firebrick locks list|show|release`: the operator view of `@firebrick/lock` over the backend the
 * service's own jobs lock with (`serviceLocks`), so what it shows is what the sweeper and migrations contend for.
 */
export function registerLocks(program: Command): void {
  const locks = program.command("locks");

  locks
    .command("list")
    .description("live locks, soonest expiry first")
    .option("--limit <n>", "at most this many (1–1000)", "100")
    .option("--json", "print the result as JSON")
    .action((options: JsonOption & { limit: string }) => {
      const limit = parseLimit(options.limit);
      return withLocks(async (service) => {
        const listings = await service.admin.list({ limit });
        const now = Date.now();
        if (options.json) {
          print({ backend: service.kind, locks: listings.map(listingJson) });
          return;
        }
        printTable(
          ["KEY", "FENCE", "ACQUIRED", "EXPIRES"],
          listings.map((listing) => [
            JSON.stringify(listing.key),
            listing.fence ?? "",
            new Date(listing.acquiredAtMs).toISOString(),
            `${new Date(listing.expiresAtMs).toISOString()} (in ${secondsLeft(listing, now)}s)`,
          ]),
          `no live locks (${service.location})`,
        );
        if (listings.length > 0)
          console.error(
            `${listings.length} live lock${listings.length === 1 ? "" : "s"} (${service.location})`,
          );
      });
    });

  locks
    .command("show")
    .description("one live lock; exit 1 when the key is not held")
    .argument("<key>", "the lock key")
    .option("--json", "print the result as JSON")
    .action((key: string, options: JsonOption) =>
      withLocks(async (service) => {
        const listing = await service.admin.inspect({ key });
        if (options.json) print(listing ? { held: true, ...listingJson(listing) } : { held: false, key });
        else if (listing) print(describe(listing, Date.now()));
        if (!listing) throw new CommandFailed(`no live lock on ${JSON.stringify(key)}`);
      }),
    );

  locks
    .command("release")
    .description(
      "force-release a live lock (its fence counter stays, so the next holder outranks the evicted one)",
    )
    .argument("<key>", "the lock key")
    .option("--yes", "do not ask for confirmation (required without a terminal)")
    .option("--json", "print the result as JSON")
    .action((key: string, options: JsonOption & { yes?: boolean }) =>
      withLocks(async (service, fleet) => {
        const listing = await service.admin.inspect({ key });
        if (!listing) throw new CommandFailed(`no live lock on ${JSON.stringify(key)}: nothing released`);
        if (!options.yes) {
          await confirm(`Force-release ${describe(listing, Date.now())}? [y/N] `);
          // The holder may have released and another taken the key while the operator read the prompt.
          const current = await service.admin.inspect({ key });
          if (current?.fence !== listing.fence) {
            throw new CommandFailed(
              `the lock on ${JSON.stringify(key)} changed while waiting for confirmation: nothing released (run again)`,
            );
          }
        }
        const result = await service.admin.forceRelease({ key });
        if (!result.ok) throw new CommandFailed(`the lock on ${JSON.stringify(key)} expired before release`);
        // A service-wide action: the platform operator's, in the platform audit log (docs/design/fleet.md).
        await fleet.platformAudit.append({
          action: "locks.force_release",
          actor: platformActor(),
          timestamp_ms: Date.now(),
          outcome: "success",
          target: `lock:${listing.key}`,
          details: {
            fence: listing.fence,
            acquired_at_ms: listing.acquiredAtMs,
            expires_at_ms: listing.expiresAtMs,
          },
        });
        if (options.json) print({ released: true, ...listingJson(listing) });
        else
          print(
            `released ${JSON.stringify(key)} (fence ${listing.fence}); the next holder gets a higher fence`,
          );
      }),
    );
}

async function withLocks(task: (service: ServiceLocks, fleet: FleetState) => Promise<void>): Promise<void> {
  await withStores(async (opened, config) => {
    try {
      await task(await serviceLocks(opened, config.locks), opened.fleet);
    } catch (error) {
      // A bad key (empty, over 512 bytes) is the operator's input, not a failed operation.
      if (error instanceof LockError && error.code === "InvalidArgument") throw new UsageError(error.message);
      throw error;
    }
  });
}

async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError("no terminal to confirm on: pass --yes to force-release without asking");
  }
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await readline.question(question)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") throw new CommandFailed("not confirmed: nothing released");
  } finally {
    readline.close();
  }
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`--limit must be an integer from 1 to 1000 (got ${JSON.stringify(value)})`);
  }
  return limit;
}

function listingJson(listing: Listing) {
  return {
    key: listing.key,
    fence: listing.fence,
    acquired_at_ms: listing.acquiredAtMs,
    expires_at_ms: listing.expiresAtMs,
    key_hash: listing.keyHash,
    lock_id_hash: listing.lockIdHash,
  };
}

const secondsLeft = (listing: Listing, now: number) =>
  Math.max(0, Math.round((listing.expiresAtMs - now) / 1000));

function describe(listing: Listing, now: number) {
  return (
    `${JSON.stringify(listing.key)}  fence ${listing.fence}  ` +
    `acquired ${new Date(listing.acquiredAtMs).toISOString()}  ` +
    `expires ${new Date(listing.expiresAtMs).toISOString()} (in ${secondsLeft(listing, now)}s)`
  );
}

function print(value: unknown): void {
  process.stdout.write(typeof value === "string" ? `${value}\n` : `${JSON.stringify(value)}\n`);
}
