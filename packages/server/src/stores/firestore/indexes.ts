/**
 * What the Firestore stores need from the database, in the `firestore.indexes.json` format
 * (`infra/firestore.indexes.json`, deployed before a flag moves an area to Firestore). This constant is
 * the source of truth: the JSON file is it serialised, and a test fails when they differ. Equality-only
 * queries (username lookup, a user's sessions) are served by merging single-field indexes.
 */
const field = (fieldPath: string, order: "ASCENDING" | "DESCENDING" = "ASCENDING") => ({ fieldPath, order });
const composite = (collectionGroup: string, ...fields: ReturnType<typeof field>[]) => ({
  collectionGroup,
  queryScope: "COLLECTION",
  fields,
});
const ascending = { order: "ASCENDING", queryScope: "COLLECTION" } as const;
const ascendingAndDescending = [ascending, { order: "DESCENDING", queryScope: "COLLECTION" }] as const;

export const FIRESTORE_INDEXES = {
  indexes: [
    composite("telemetry", field("tenant_id"), field("device_id"), field("timestamp_ms", "DESCENDING")),
    // What was written since a read, for the latest-points cache of every instance (docs/design/fleet.md).
    composite("telemetry", field("tenant_id"), field("device_id"), field("written_at")),
    // The CSV export streams a device's history oldest first (docs/design/trends.md).
    composite("telemetry", field("tenant_id"), field("device_id"), field("timestamp_ms")),
    // Trend rollups (docs/design/trends.md): a device's days in a range; its days not yet folded; the
    // folder's quiet days; a device's months in one zone.
    composite("telemetry_rollups", field("tenant_id"), field("device_id"), field("day_ms")),
    composite("telemetry_rollups", field("tenant_id"), field("device_id"), field("folded"), field("day_ms")),
    composite("telemetry_rollups", field("folded"), field("written_ms")),
    composite(
      "telemetry_rollup_months",
      field("tenant_id"),
      field("device_id"),
      field("zone"),
      field("month_ms"),
    ),
    composite("audit_log", field("tenant_id"), field("timestamp_ms", "DESCENDING")),
    composite("audit_log", field("tenant_id"), field("user_id"), field("timestamp_ms", "DESCENDING")),
    composite("audit_log", field("tenant_id"), field("action"), field("timestamp_ms", "DESCENDING")),
    composite(
      "audit_log",
      field("tenant_id"),
      field("user_id"),
      field("action"),
      field("timestamp_ms", "DESCENDING"),
    ),
    composite("devices", field("tenant_id"), field("name")),
    composite("users", field("tenant_id"), field("username_key")),
    // Alarms (docs/design/alarms.md): a tenant's rules oldest first; its alarms newest first, all or by state.
    composite("alarm_rules", field("tenant_id"), field("created_at")),
    composite("alarms", field("tenant_id"), field("raised_ms", "DESCENDING")),
    composite("alarms", field("tenant_id"), field("state"), field("raised_ms", "DESCENDING")),
    // Webhooks (docs/design/webhooks.md): a webhook's delivery attempts, newest first.
    composite("webhook_attempts", field("tenant_id"), field("webhook_id"), field("at_ms", "DESCENDING")),
  ],
  fieldOverrides: [
    // A monotonic field's single-field index is a write hotspot; the composite index serves every query.
    { collectionGroup: "telemetry", fieldPath: "timestamp_ms", ttl: false, indexes: [] },
    { collectionGroup: "telemetry", fieldPath: "written_at", ttl: false, indexes: [] },
    // TTL fields (docs/design/retention.md). Telemetry and audit never query theirs, so no index is kept.
    { collectionGroup: "telemetry", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "audit_log", fieldPath: "expire_at", ttl: true, indexes: [] },
    // The service-wide state (docs/design/fleet.md): limiter records expire once drained, the platform
    // audit log after 180 days, published changes after an hour. None is queried by its expiry.
    { collectionGroup: "fleet_records", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "platform_audit", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "fleet_changes", fieldPath: "expire_at", ttl: true, indexes: [] },
    // Rollups outlive the points: two years (docs/design/trends.md). Their maps of slots are read whole,
    // never queried: indexing each of their thousands of values would cost every write for nothing.
    { collectionGroup: "telemetry_rollups", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "telemetry_rollups", fieldPath: "m", ttl: false, indexes: [] },
    { collectionGroup: "telemetry_rollups", fieldPath: "rebuilt", ttl: false, indexes: [] },
    { collectionGroup: "telemetry_rollup_months", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "telemetry_rollup_months", fieldPath: "parts", ttl: false, indexes: [] },
    // An intent is repaired within minutes of lapsing; TTL only collects one nothing could repair.
    { collectionGroup: "telemetry_rollup_intents", fieldPath: "expire_at", ttl: true, indexes: [] },
    // Cleared alarms are kept a year; open ones carry no expiry (null is never deleted by TTL).
    { collectionGroup: "alarms", fieldPath: "expire_at", ttl: true, indexes: [] },
    // Webhook deliveries and their attempts are kept 30 days.
    { collectionGroup: "webhook_deliveries", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "webhook_attempts", fieldPath: "expire_at", ttl: true, indexes: [] },
    // The sweeper queries sessions by expiry, so that index stays.
    { collectionGroup: "sessions", fieldPath: "expires_at", ttl: true, indexes: ascendingAndDescending },
    // @firebrick/lock finds a lock by lockId (release, extend, lookup). Firestore indexes the field on its
    // own, but declaring it keeps it indexed should single-field indexing ever be trimmed, and (deployed
    // with the Firebase CLI) drops the descending and array indexes nothing uses. `fence_counters` has no
    // entry on purpose: a TTL there would delete counters and restart fences (packages/lock/README.md).
    { collectionGroup: "locks", fieldPath: "lockId", ttl: false, indexes: [ascending] },
  ],
} as const;
