import { randomUUID } from "node:crypto";
import { assertEpochMs } from "./keys.js";
import type { AuditEntry, NewAuditEntry, TenantId } from "./types.js";

/** The entry as stored, defaults filled in, the same for both backends. */
export function completeAuditEntry(tenant: TenantId, entry: NewAuditEntry): AuditEntry {
  assertEpochMs(entry.timestamp_ms, "timestamp_ms");
  return {
    id: entry.id ?? randomUUID(),
    tenant_id: tenant,
    action: entry.action,
    user_id: entry.user_id,
    timestamp_ms: entry.timestamp_ms,
    outcome: entry.outcome,
    target: entry.target ?? null,
    ip: entry.ip ?? null,
    user_agent: entry.user_agent ?? null,
    // Through JSON, as SQLite stores it: both backends then hold exactly the same details.
    details: JSON.parse(JSON.stringify(entry.details ?? {})) as Record<string, unknown>,
    source: entry.source ?? "app",
  };
}
