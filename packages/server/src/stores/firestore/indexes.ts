/**
 * What the Firestore stores need from the database, in the `firestore.indexes.json` format
 * (`infra/firestore.indexes.json`, deployed before a flag moves an area to Firestore). Equality-only
 * queries (username lookup, a user's sessions) are served by merging single-field indexes.
 */
const field = (fieldPath: string, order: "ASCENDING" | "DESCENDING" = "ASCENDING") => ({ fieldPath, order });
const composite = (collectionGroup: string, ...fields: ReturnType<typeof field>[]) => ({
  collectionGroup,
  queryScope: "COLLECTION",
  fields,
});
const ascendingAndDescending = [
  { order: "ASCENDING", queryScope: "COLLECTION" },
  { order: "DESCENDING", queryScope: "COLLECTION" },
];

export const FIRESTORE_INDEXES = {
  indexes: [
    composite("telemetry", field("tenant_id"), field("device_id"), field("timestamp_ms", "DESCENDING")),
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
    composite("users", field("tenant_id"), field("username_key")),
    composite("devices", field("tenant_id"), field("name")),
  ],
  fieldOverrides: [
    // TTL fields (SPEC §4 deviation). Telemetry and audit never query theirs, so no index is kept.
    { collectionGroup: "telemetry", fieldPath: "expire_at", ttl: true, indexes: [] },
    { collectionGroup: "audit_log", fieldPath: "expire_at", ttl: true, indexes: [] },
    // The sweeper queries sessions by expiry, so that index stays.
    { collectionGroup: "sessions", fieldPath: "expires_at", ttl: true, indexes: ascendingAndDescending },
    // A monotonic field's single-field index is a write hotspot; the composite index serves every query.
    { collectionGroup: "telemetry", fieldPath: "timestamp_ms", indexes: [] },
  ],
} as const;
