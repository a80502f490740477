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
  /** Resolves when healthy; throws when not (the error goes to the log, never to the caller). */
  check(): Promise<void> | void;
}

/**
 * Each check's own deadline: a dependency that does not answer (the Firestore SDK retries an unreachable
 * backend for a minute on its own) fails its check instead of holding `/readyz`, which answers within
 * about this long whatever is down.
 */
export const READINESS_CHECK_TIMEOUT_MS = 1_500;

/**
 * A dependency that answered, and is not ready (not an outage): its `reason` is a fixed word meant for
 * `/readyz`, e.g. the bootstrap document's `missing`.
 */
export class NotReadyError extends Error {
  override name = "NotReadyError";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** What `/readyz` says of a failed check: which one and how, never an address or an error's text. */
export type CheckResult = { status: "ok" } | { status: "failed"; reason: string };

/**
 * `/healthz`: the process is up. `/readyz`: every dependency answers; 503 names the ones that do not
 * (docs/design/failures.md). The body is for anyone who can reach the port: it says which dependency
 * failed and whether it erred or timed out; what it said (addresses, error texts) goes to the log.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  checks: ReadinessCheck[],
  describe: () => Record<string, unknown> = () => ({}),
): void {
  const probes = checks.map((check) => singleFlight(check));
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

  app.get("/readyz", { logLevel: "warn", schema: READYZ_SCHEMA }, async (request, reply) => {
    const results = await Promise.all(
      probes.map(async (probe) => {
        const outcome = await withDeadline(probe.run(), READINESS_CHECK_TIMEOUT_MS);
        if (outcome.ok) return [probe.name, { status: "ok" }] as const;
        // The application's logger, not the route's (whose level is raised to keep probes out of the log).
        app.log.warn(
          { err: outcome.error, check: probe.name, request_id: request.id },
          "readiness check failed",
        );
        const reason =
          outcome.error instanceof CheckTimeoutError
            ? "timeout"
            : outcome.error instanceof NotReadyError
              ? outcome.error.reason
              : "error";
        return [probe.name, { status: "failed", reason } satisfies CheckResult] as const;
      }),
    );
    const ready = results.every(([, result]) => result.status === "ok");
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "unavailable", checks: Object.fromEntries(results), ...describe() });
  });
}

class CheckTimeoutError extends Error {
  override name = "CheckTimeoutError";
}

/**
 * A check that is still running is joined, not started again: probes polling `/readyz` during an outage
 * (or anyone flooding it) keep at most one call per dependency in flight.
 */
function singleFlight({ name, check }: ReadinessCheck) {
  let inFlight: Promise<void> | undefined;
  return {
    name,
    run(): Promise<void> {
      inFlight ??= (async () => check())().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}

async function withDeadline(
  promise: Promise<void>,
  ms: number,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<{ ok: false; error: unknown }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, error: new CheckTimeoutError(`no answer within ${ms} ms`) }),
      ms,
    );
  });
  try {
    return await Promise.race([
      promise.then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
