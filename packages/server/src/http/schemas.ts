import { Type } from "typebox";
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
