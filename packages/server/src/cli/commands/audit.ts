import type { Command } from "commander";
import { InvalidCursorError } from "../../stores/types.js";
import { UsageError } from "../errors.js";
import { withStores } from "./stores.js";

/**
 * `firebrick audit --platform`: the platform audit log, newest first (docs/design/fleet.md): every
 * service-wide action (flag changes, forced lock releases) and every refused attempt at one. A tenant's
 * own log is read through its admin's `GET /api/audit`.
 */
export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description("the platform audit log: service-wide actions, newest first (--platform)")
    .option("--platform", "the platform operator's log (the only one this command reads)")
    .option("--limit <n>", "at most this many (1–1000)", "50")
    .option("--cursor <cursor>", "continue after the last page (its next_cursor)")
    .option("--json", "print JSON")
    .action((options: { platform?: boolean; limit: string; cursor?: string; json?: boolean }) => {
      if (!options.platform) {
        throw new UsageError(
          "firebrick audit reads the platform log: pass --platform (a tenant's log is GET /api/audit)",
        );
      }
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new UsageError(
          `--limit must be an integer from 1 to 1000 (got ${JSON.stringify(options.limit)})`,
        );
      }
      return withStores(async (opened) => {
        let page: Awaited<ReturnType<typeof opened.fleet.platformAudit.list>>;
        try {
          page = await opened.fleet.platformAudit.list({ limit, cursor: options.cursor ?? null });
        } catch (error) {
          if (error instanceof InvalidCursorError)
            throw new UsageError("--cursor is not a cursor this log issued");
          throw error;
        }
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ entries: page.items, next_cursor: page.next_cursor })}\n`);
          return;
        }
        if (page.items.length === 0) process.stdout.write(`no entries (${opened.fleet.location})\n`);
        for (const entry of page.items) {
          const target = entry.target ? ` ${entry.target}` : "";
          process.stdout.write(
            `${new Date(entry.timestamp_ms).toISOString()}  ${entry.action}${target}  ${entry.outcome}  by ${entry.actor}  ${JSON.stringify(entry.details)}\n`,
          );
        }
        if (page.next_cursor) process.stdout.write(`more: --cursor ${page.next_cursor}\n`);
      });
    });
}
