import { Type } from "typebox";
import { ERRORS, type ErrorCode } from "../errors.js";
import { METRIC_NAME_PATTERN, type Role } from "../stores/types.js";

/** Shapes shared by several routes. TypeBox builds plain JSON Schema: Fastify validates with it and the
 * OpenAPI document is generated from it. */

/**
 * A whole number within `minimum`–`maximum`, never beyond what a JavaScript number holds exactly: a query
 * string's `9007199254740993`, `99999999999999999999` or `1e21` is a 400 here instead of a rounded value
 * that a store refuses with a 500. Every numeric query parameter is one of these.
 *
 * @example
 * querystring: Type.Object({ from: Type.Optional(SafeInteger({ minimum: 0 })) })
 */
export function SafeInteger(
  options: { minimum?: number; maximum?: number; default?: number; description?: string } = {},
) {
  const { minimum = Number.MIN_SAFE_INTEGER, maximum = Number.MAX_SAFE_INTEGER, ...rest } = options;
  return Type.Integer({
    minimum: Math.max(minimum, Number.MIN_SAFE_INTEGER),
    maximum: Math.min(maximum, Number.MAX_SAFE_INTEGER),
    ...rest,
  });
}

/** UTC epoch milliseconds, e.g. a window's `from` and `to`. */
export const EpochMs = (description = "UTC epoch milliseconds") => SafeInteger({ minimum: 0, description });

/** A page size: `?limit=`, 1–1000, 100 unless given. */
export const PageLimit = SafeInteger({ minimum: 1, maximum: 1000, default: 100 });

/** A metric name, the one rule of both stores (`METRIC_NAME_PATTERN`): reserved `__…__` names are a 400. */
export const MetricName = Type.String({ pattern: METRIC_NAME_PATTERN });

export const IdParams = Type.Object({ id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

/** An alarm's severity (alarms/types.ts `SEVERITIES`), as alarm rules and webhooks name it. */
export const Severity = Type.Union([
  Type.Literal("critical"),
  Type.Literal("major"),
  Type.Literal("minor"),
  Type.Literal("warning"),
]);

export const Cursor = Type.String({ minLength: 1, maxLength: 1024, description: "opaque; from next_cursor" });

export const RoleSchema = Type.Union(
  [Type.Literal("admin"), Type.Literal("operator"), Type.Literal("viewer")],
  {
    description: "admin: users, devices, audit, flags; operator: write telemetry, read; viewer: read",
  },
);

export const Username = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z0-9][A-Za-z0-9._@-]*$",
});

/** Long enough to resist guessing; bounded so that hashing cost stays bounded. */
export const NewPassword = Type.String({ minLength: 12, maxLength: 256 });
export const AnyPassword = Type.String({ minLength: 1, maxLength: 256 });

export const PublicUser = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  tenant_id: Type.String(),
  created_at: Type.Integer(),
});

export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: "null at the end" });

/** A short printable label: a location tag, a unit, a point's display name. */
const Label = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: "^[^\\u0000-\\u001f\\u007f]+$",
    ...(description && { description }),
  });

/** A device's name: what the dashboard lists devices by. */
export const DeviceName = Label(128);

const LocationTag = (description: string) => Type.Union([Label(64), Type.Null()], { description });

export const DeviceLocation = Type.Object(
  {
    site: LocationTag("e.g. a campus or a street address"),
    building: LocationTag("e.g. Building A"),
    floor: LocationTag("e.g. L2"),
    zone: LocationTag("e.g. a room or an air-handling zone"),
  },
  { additionalProperties: false, description: "free tags; null when unset" },
);

/** At most this many point definitions per device, and this many labels per enum point. */
export const MAX_POINTS_PER_DEVICE = 128;
export const MAX_ENUM_LABELS = 64;

export const PointKind = Type.Union([Type.Literal("number"), Type.Literal("boolean"), Type.Literal("enum")], {
  description: "number: a quantity; boolean: 0 or 1; enum: an integer code with a label per value",
});

export const PointDefinition = Type.Object(
  {
    name: Label(64, "the display name"),
    unit: Type.Union([Label(32), Type.Null()], { description: "e.g. °C, ppm, %; null for none" }),
    kind: PointKind,
    min: Type.Union([Type.Number(), Type.Null()], { description: "number points: the lowest valid value" }),
    max: Type.Union([Type.Number(), Type.Null()], { description: "number points: the highest valid value" }),
    labels: Type.Union(
      [
        Type.Record(Type.String({ pattern: "^-?(0|[1-9][0-9]{0,8})$" }), Label(64), {
          minProperties: 1,
          maxProperties: MAX_ENUM_LABELS,
          additionalProperties: false,
        }),
        Type.Null(),
      ],
      { description: 'enum points: the label of each value, e.g. {"0": "off", "1": "on"}' },
    ),
  },
  { additionalProperties: false },
);

export const PublicDevice = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tenant_id: Type.String(),
  created_at: Type.Integer(),
  token_rotated_at: Type.Integer(),
  location: DeviceLocation,
  points: Type.Record(Type.String(), PointDefinition, { description: "point definitions by metric name" }),
  last_seen_ms: Type.Union([Type.Integer(), Type.Null()], {
    description: "when telemetry was last accepted, to the minute; null: never",
  }),
  status: Type.Union([Type.Literal("online"), Type.Literal("offline")], {
    description: "offline once nothing has been accepted for the configured inactivity time",
  }),
});

/** The one error envelope; the OpenAPI document's shared `Error` schema (`http/openapi.ts`). */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      // A plain enum (not a union of consts): the document is OpenAPI 3.0, which has no `const`.
      code: Type.Unsafe<ErrorCode>({
        type: "string",
        enum: Object.keys(ERRORS),
        description: "match on this, never on the message",
      }),
      message: Type.String(),
      request_id: Type.String({ description: "also in the x-request-id header and the logs" }),
    }),
  },
  { description: "Every error: a stable code from the catalogue, a message for people, the request's id." },
);

/**
 * One name of a list, by the same rule as `METRIC_NAME_PATTERN` (a name has no comma, so "reserved" is a
 * `__…__` item that ends at a comma or at the end).
 */
const METRIC_LIST_ITEM = "(?!__[A-Za-z0-9_.:/-]*__(?:,|$))[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}";

/** A comma-separated list of up to 64 metric names (`metrics=zone_temp_c,co2_ppm`). */
export const MetricList = Type.String({
  pattern: `^${METRIC_LIST_ITEM}(,${METRIC_LIST_ITEM}){0,63}$`,
  maxLength: 64 * 65,
  description: "comma-separated metric names; all metrics when absent",
});

/** Trend bucket widths; `1d` buckets are days of the tenant's time zone. */
export const AggregateIntervalSchema = Type.Union(
  [Type.Literal("5m"), Type.Literal("15m"), Type.Literal("1h"), Type.Literal("1d")],
  { description: "bucket width; 1d buckets are days of the tenant's time zone" },
);

/** An IANA time zone name; checked against the runtime's zone database by the route. */
export const TimeZoneName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z][A-Za-z0-9_+\\-/]{0,63}$",
  description: "an IANA time zone, e.g. Europe/Paris",
});

export function publicUser(user: {
  id: string;
  username: string;
  role: Role;
  tenant_id: string;
  created_at: number;
}) {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    tenant_id: user.tenant_id,
    created_at: user.created_at,
  };
}
