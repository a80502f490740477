import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import type { ServiceContext } from "../service.js";
import { FLAG_NAMES } from "../stores/routing/flags.js";

/**
 * `GET|PUT /api/admin/flags`: a tenant's admin sees which store each area uses. The flags are
 * service-wide, above every tenant (docs/design/fleet.md): only the platform operator changes them, with
 * `firebrick flags set`; a tenant admin's PUT is refused (403) and audited, in the tenant's log and in
 * the platform's.
 */
export function registerFlagRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/api/admin/flags",
    {
      config: requires.admin,
      schema: {
        tags: ["admin"],
        summary:
          "The routing flags and the store each area uses (read-only: the platform operator sets them)",
      },
    },
    async () => ({
      flags: ctx.flags.current(),
      stores: ctx.router.backends(),
      firestore_configured: ctx.router.firestoreConfigured,
    }),
  );

  api.put(
    "/api/admin/flags",
    {
      config: { ...requires.admin, errors: ["PRECONDITION_FAILED"] },
      schema: {
        tags: ["admin"],
        summary:
          "Always refused (403): the routing flags are service-wide; the platform operator changes them with firebrick flags set",
        body: Type.Object(
          Object.fromEntries(FLAG_NAMES.map((name) => [name, Type.Optional(Type.Boolean())])),
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request) => {
      const { user } = sessionOf(request);
      const details = {
        requested: request.body,
        reason: "the routing flags belong to the platform operator",
      };
      await request.audit({ action: "flags.update_denied", outcome: "denied", target: "flags", details });
      await ctx.fleet.platformAudit
        .append({
          action: "flags.update_denied",
          actor: `user:${user.id}@${request.tenant}`,
          timestamp_ms: ctx.clock(),
          outcome: "denied",
          target: "flags",
          details: { ...details, request_id: request.id },
        })
        .catch((error) => request.log.error({ err: error }, "platform audit append failed"));
      throw new AppError(
        "FORBIDDEN",
        "The routing flags are service-wide: the platform operator changes them with `firebrick flags set`.",
      );
    },
  );
}
