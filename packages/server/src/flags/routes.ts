import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import type { ServiceContext } from "../service.js";
import { changeFlags, FlagChangeRefusedError } from "../stores/routing/flag-change.js";
import { FLAG_NAMES } from "../stores/routing/flags.js";

/** `GET|PUT /api/admin/flags`: which store each area uses; changes apply at once, persist and are audited. */
export function registerFlagRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  const describe = () => ({
    flags: ctx.flags.current(),
    stores: ctx.router.backends(),
    firestore_configured: ctx.router.firestoreConfigured,
  });

  api.get(
    "/api/admin/flags",
    {
      config: requires.admin,
      schema: { tags: ["admin"], summary: "The routing flags and the store each area uses" },
    },
    async () => describe(),
  );

  api.put(
    "/api/admin/flags",
    {
      config: { ...requires.admin, errors: ["PRECONDITION_FAILED"] },
      schema: {
        tags: ["admin"],
        summary: "Move areas between SQLite and Firestore (no restart); an auth change signs everyone out",
        body: Type.Object(
          Object.fromEntries(FLAG_NAMES.map((name) => [name, Type.Optional(Type.Boolean())])),
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request, reply) => {
      let change: Awaited<ReturnType<typeof changeFlags>>;
      try {
        change = await changeFlags(ctx, request.body, `user:${sessionOf(request).user.id}`);
      } catch (error) {
        if (!(error instanceof FlagChangeRefusedError)) throw error;
        const code =
          error.reason === "firestore_not_configured" ? "VALIDATION_FAILED" : "PRECONDITION_FAILED";
        throw new AppError(code, error.message);
      }
      if (change.authChanged) ctx.cookie.clear(reply);
      await request.audit({
        action: "flags.update",
        outcome: "success",
        target: "flags",
        details: { before: change.before, after: change.after, revoked_sessions: change.revokedSessions },
      });
      return describe();
    },
  );
}
