import { randomUUID } from "node:crypto";
import { encodeCursor } from "../stores/cursor.js";
import { assertEpochMs } from "../stores/keys.js";
import { AUDIT_RETENTION_MS } from "../stores/types.js";
import type { NewPlatformAuditEntry, PlatformAuditEntry } from "./types.js";

/** Platform audit entries are kept as long as a tenant's (180 days), by TTL or the retention job. */
export const PLATFORM_AUDIT_RETENTION_MS = AUDIT_RETENTION_MS;

/** The entry as stored, the same for both backends. */
export function completePlatformAuditEntry(entry: NewPlatformAuditEntry): PlatformAuditEntry {
  assertEpochMs(entry.timestamp_ms, "timestamp_ms");
  return {
    id: randomUUID(),
    action: entry.action,
    actor: entry.actor,
    timestamp_ms: entry.timestamp_ms,
    outcome: entry.outcome,
    target: entry.target ?? null,
    // Through JSON, as SQLite stores it: both backends then hold exactly the same details.
    details: JSON.parse(JSON.stringify(entry.details ?? {})) as Record<string, unknown>,
  };
}

/** A page of entries, newest first, read `limit` at a time: a cursor after the last when the page is full. */
export function platformAuditPage(items: PlatformAuditEntry[], limit: number) {
  const last = items.at(-1);
  return {
    items,
    next_cursor:
      items.length === limit && last
        ? encodeCursor<"platform_audit">({ k: "platform_audit", t: last.timestamp_ms, id: last.id })
        : null,
  };
}
