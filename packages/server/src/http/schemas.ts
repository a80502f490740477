import { Type } from "typebox";
import type { Role } from "../stores/types.js";

/** Shapes shared by several routes. TypeBox builds plain JSON Schema: Fastify validates with it and the
 * OpenAPI document is generated from it. */
export const IdParams = Type.Object({ id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

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

export const PublicDevice = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tenant_id: Type.String(),
  created_at: Type.Integer(),
  token_rotated_at: Type.Integer(),
});

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), request_id: Type.String() }),
});

/** The error answers every authenticated route may give, for the OpenAPI document. */
export const ErrorResponses = {
  400: { ...ErrorResponse, description: "VALIDATION_FAILED, TENANT_REQUIRED" },
  401: { ...ErrorResponse, description: "UNAUTHENTICATED" },
  403: { ...ErrorResponse, description: "FORBIDDEN, TENANT_MISMATCH" },
  404: { ...ErrorResponse, description: "NOT_FOUND" },
  429: { ...ErrorResponse, description: "RATE_LIMITED" },
  503: { ...ErrorResponse, description: "UNAVAILABLE" },
};

/**
 * UTC epoch milliseconds in a query string: whole, non-negative and safe (a larger number would lose
 * precision and reach the stores as another value).
 */
export const EpochMs = (description: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

/** A metric name, as telemetry writes accept it. */
export const METRIC_NAME_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}";
export const MetricName = `^${METRIC_NAME_PATTERN}$`;

/** A comma-separated list of up to 64 metric names (`metrics=zone_temp_c,co2_ppm`). */
export const MetricList = Type.String({
  pattern: `^${METRIC_NAME_PATTERN}(,${METRIC_NAME_PATTERN}){0,63}$`,
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
