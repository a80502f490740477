import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import type { ServiceContext } from "../service.js";
import { FLAG_NAMES, type Flags } from "../stores/routing/flags.js";

/** `GET|PUT /api/admin/flags`: which store each area uses; changes apply at once, persist and are audited. */
export function registerFlagRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const firestoreConfigured = () => ctx.router.all().some(({ backend }) => backend === "firestore");

  const describe = () => ({
    flags: ctx.flags.current(),
    stores: {
      auth: ctx.router.backendOf("auth"),
      audit: ctx.router.backendOf("audit"),
      telemetry: ctx.router.backendOf("telemetry"),
    },
    firestore_configured: firestoreConfigured(),
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
      config: requires.admin,
      schema: {
        tags: ["admin"],
        summary: "Move areas between SQLite and Firestore (no restart); an auth change signs everyone out",
        body: Type.Object(
          {
            telemetry: Type.Optional(Type.Boolean()),
            audit: Type.Optional(Type.Boolean()),
            auth: Type.Optional(Type.Boolean()),
            telemetry_dual_write: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request, reply) => {
      const before = ctx.flags.current();
      const next: Flags = { ...before, ...request.body };
      if (FLAG_NAMES.some((name) => next[name] && !before[name]) && !firestoreConfigured()) {
        throw new AppError(
          "VALIDATION_FAILED",
          "Firestore is not configured (set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST and restart)",
        );
      }
      if (next.telemetry && !before.telemetry && next.telemetry_dual_write && ctx.telemetryFlipGate) {
        // Ending a dual-write window: reads move only once the index is READY and a comparison is green.
        const blockers = await ctx.telemetryFlipGate();
        if (blockers.length > 0) {
          throw new AppError(
            "PRECONDITION_FAILED",
            `Telemetry reads stay on SQLite: ${blockers.join("; ")}.`,
          );
        }
      }
      const sessionsBefore = ctx.router.stores.sessions;
      const { after } = ctx.flags.set(next, ctx.clock());
      let revokedSessions = 0;
      if (before.auth !== after.auth) {
        // SPEC.md §6: the auth cutover (and its rollback) forces everyone to sign in again; sessions
        // left in the old store must not come back to life if the flag flips back.
        revokedSessions = await sessionsBefore.deleteAll();
        ctx.devices.forgetAll();
        ctx.cookie.clear(reply);
      }
      await request.audit({
        action: "flags.update",
        outcome: "success",
        target: "flags",
        details: { before, after, revoked_sessions: revokedSessions },
      });
      return describe();
    },
  );
}
