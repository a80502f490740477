import type { FastifyInstance } from "fastify";
import { Type } from "typebox";

const Readiness = Type.Object(
  {
    status: Type.String({ description: "ready, or unavailable" }),
    checks: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          { status: Type.String(), reason: Type.Optional(Type.String()) },
          { additionalProperties: true },
        ),
        { description: "each dependency by name" },
      ),
    ),
  },
  // The instance adds facts of its own (which store each area uses).
  { additionalProperties: true },
);

const READYZ_SCHEMA = {
  tags: ["service"],
  summary: "Readiness: every dependency answers (503 names those that do not)",
  response: { 200: Readiness, 503: Readiness },
};

/** One dependency that must answer before the server is ready (a store, the bootstrap document…). */
export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; throws (with a short, safe message) when not. */
  check(): Promise<void> | void;
}

/** `/healthz`: the process is up. `/readyz`: every dependency answers; 503 names the ones that do not. */
export function registerHealthRoutes(
  app: FastifyInstance,
  checks: ReadinessCheck[],
  describe: () => Record<string, unknown> = () => ({}),
): void {
  app.get(
    "/healthz",
    {
      logLevel: "warn",
      schema: {
        tags: ["service"],
        summary: "Liveness: the process is up",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get("/readyz", { logLevel: "warn", schema: READYZ_SCHEMA }, async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await check();
          return [name, { status: "ok" }] as const;
        } catch (error) {
          return [
            name,
            { status: "failed", reason: error instanceof Error ? error.message : String(error) },
          ] as const;
        }
      }),
    );
    const ready = results.every(([, result]) => result.status === "ok");
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "unavailable", checks: Object.fromEntries(results), ...describe() });
  });
}
