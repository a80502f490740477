import { z } from "zod";
import { telemetryPointId } from "./keys.js";
import { InvalidCursorError } from "./types.js";

/**
 * Opaque page cursors: base64url JSON of the last item's sort key, tagged with the kind of list it
 * belongs to. Both backends use the same formats, so a cursor survives a cutover.
 */
const SCHEMAS = {
  users: z.strictObject({ k: z.literal("users"), key: z.string().min(1).max(1000) }),
  devices: z.strictObject({
    k: z.literal("devices"),
    name: z.string().max(1000),
    id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
  }),
  telemetry: z.strictObject({
    k: z.literal("telemetry"),
    t: z.number().int(),
    id: z.string().regex(/^[0-9a-f]{40}$/),
  }),
  audit: z.strictObject({ k: z.literal("audit"), t: z.number().int(), id: z.string().min(1).max(200) }),
  // Alarms (alarms/): newest raised first; rules oldest first; the sweep's offline rules by id.
  alarms: z.strictObject({ k: z.literal("alarms"), t: z.number().int(), id: z.string().min(1).max(200) }),
  alarm_rules: z.strictObject({
    k: z.literal("alarm_rules"),
    t: z.number().int(),
    id: z.string().min(1).max(200),
  }),
  offline_rules: z.strictObject({ k: z.literal("offline_rules"), id: z.string().min(1).max(200) }),
  // A webhook's delivery attempts, newest first (webhooks/).
  webhook_attempts: z.strictObject({
    k: z.literal("webhook_attempts"),
    t: z.number().int(),
    id: z.string().min(1).max(200),
  }),
  platform_audit: z.strictObject({
    k: z.literal("platform_audit"),
    t: z.number().int(),
    id: z.string().min(1).max(200),
  }),
};

type CursorKind = keyof typeof SCHEMAS;
export type Cursor<K extends CursorKind> = z.infer<(typeof SCHEMAS)[K]>;

export function encodeCursor<K extends CursorKind>(cursor: Cursor<K>): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

/** Parses a cursor of the given kind; throws `InvalidCursorError` for anything this store did not issue. */
export function decodeCursor<K extends CursorKind>(kind: K, raw: string): Cursor<K> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError("cursor is not valid");
  }
  const parsed = SCHEMAS[kind].safeParse(value);
  // Buffer.from tolerates stray characters; re-encoding catches a cursor that was edited.
  if (!parsed.success || encodeCursor(parsed.data as Cursor<K>) !== raw) {
    throw new InvalidCursorError("cursor is not valid");
  }
  return parsed.data as Cursor<K>;
}

/** The cursor after a device's point at `timestampMs` (the same key orders both directions). */
export function telemetryCursor(tenant: string, deviceId: string, timestampMs: number): string {
  return encodeCursor<"telemetry">({
    k: "telemetry",
    t: timestampMs,
    id: telemetryPointId(tenant, deviceId, timestampMs),
  });
}

/** The timestamp a telemetry cursor stops at; `InvalidCursorError` if it is another device's. */
export function telemetryCursorTime(tenant: string, deviceId: string, raw: string): number {
  const cursor = decodeCursor("telemetry", raw);
  if (cursor.id !== telemetryPointId(tenant, deviceId, cursor.t)) {
    throw new InvalidCursorError("cursor belongs to another device");
  }
  return cursor.t;
}
