import { Type } from "typebox";
import { ERRORS, type ErrorCode } from "../errors.js";
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
