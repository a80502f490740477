import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { outOfRange } from "../devices/points.js";
import { AppError } from "../errors.js";
import type { LimitPolicy } from "../fleet/limiter.js";
import { requires } from "../http/route-security.js";
import { Cursor, EpochMs, IdParams, NextCursor, PageLimit } from "../http/schemas.js";
import { requestContext } from "../observability/request-context.js";
import type { ServiceContext } from "../service.js";
import {
  type Device,
  METRIC_NAME_PATTERN,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
} from "../stores/types.js";

/** Bounds of one write: a batch is at most this many points of at most this many metrics. */
export const MAX_POINTS_PER_WRITE = 500;
export const MAX_METRICS_PER_POINT = 64;
const MAX_WRITE_BYTES = 128 * 1024;
/** Clocks on devices drift; a point from further in the future than this is a bug, not a reading. */
const MAX_FUTURE_MS = 5 * 60_000;

const TelemetryWrite = Type.Object(
  {
    points: Type.Array(
      Type.Object(
        {
          timestamp_ms: EpochMs(),
          metrics: Type.Object(
            {},
            {
              patternProperties: { [METRIC_NAME_PATTERN]: Type.Number() },
              additionalProperties: false,
              minProperties: 1,
              maxProperties: MAX_METRICS_PER_POINT,
            },
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_POINTS_PER_WRITE },
    ),
  },
  { additionalProperties: false },
);

const TelemetryQuery = Type.Object(
  {
    limit: Type.Optional(PageLimit),
    from: Type.Optional(EpochMs("window start, inclusive (epoch ms)")),
    to: Type.Optional(EpochMs("window end, exclusive (epoch ms)")),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

/**
 * Fastify's validator coerces types ("21.5" → 21.5) so that query strings work; in a reading that would
 * store a string the device never meant as a number. Telemetry values and timestamps must be JSON numbers.
 */
async function rejectCoercibleValues(request: { body: unknown }): Promise<void> {
  const points = (request.body as { points?: unknown } | null)?.points;
  if (!Array.isArray(points)) return;
  for (let index = 0; index < points.length; index++) {
    const point: unknown = points[index];
    if (typeof point !== "object" || point === null) continue;
    const { timestamp_ms, metrics } = point as { timestamp_ms?: unknown; metrics?: unknown };
    if (timestamp_ms !== undefined && typeof timestamp_ms !== "number") {
      throw new AppError("VALIDATION_FAILED", `points/${index}/timestamp_ms must be a number`);
    }
    if (typeof metrics !== "object" || metrics === null) continue;
    for (const name in metrics) {
      if (typeof (metrics as Record<string, unknown>)[name] !== "number") {
        throw new AppError("VALIDATION_FAILED", `points/${index}/metrics/${name} must be a number`);
      }
    }
  }
}

/** A point as the API shows it, its metrics outside their point's valid range flagged (devices/points.ts). */
function publicPoint(point: TelemetryPoint, definitions: Device["points"]) {
  const flagged = outOfRange(definitions, point.metrics);
  return {
    timestamp_ms: point.timestamp_ms,
    metrics: point.metrics,
    ...(flagged.length > 0 && { out_of_range: flagged }),
  };
}

/** `/api/devices/:id/telemetry`: writes (the device's token, or an operator), reads (any role). */
export function registerTelemetryRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // Points per device per minute, for every instance together (docs/design/telemetry.md, fleet.md): a
  // bucket holding one minute's allowance, draining continuously, in the fleet's limiter records.
  const writes: LimitPolicy = {
    name: "device_writes",
    capacity: ctx.deviceWritesPerMinute,
    windowMs: 60_000,
  };
  // Dashboards poll "latest 100": served from memory for one billed read per poll (docs/design/telemetry.md).
  const latest = ctx.latestPoints;

  api.post(
    "/api/devices/:id/telemetry",
    {
      bodyLimit: MAX_WRITE_BYTES,
      config: { ...requires.deviceOrWriter, errors: ["RATE_LIMITED"] },
      preValidation: rejectCoercibleValues,
      schema: {
        tags: ["telemetry"],
        summary: "Write points (device bearer token, or an operator's session)",
        security: [
          { tenant: [], device: [] },
          { tenant: [], session: [] },
        ],
        params: IdParams,
        body: TelemetryWrite,
        response: { 202: Type.Object({ accepted: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      // A device's own token was checked by the gate: `owned` does not look the device up again.
      const device = await ctx.devices.owned(request, id);
      const now = ctx.clock();
      const points = request.body.points;
      for (let index = 0; index < points.length; index++) {
        const point = points[index]!;
        if (point.timestamp_ms < now - TELEMETRY_RETENTION_MS || point.timestamp_ms > now + MAX_FUTURE_MS) {
          throw new AppError(
            "VALIDATION_FAILED",
            `points/${index}/timestamp_ms must be within the last 90 days and at most 5 minutes ahead`,
          );
        }
        const metrics = point.metrics as Record<string, number>;
        for (const name in metrics) {
          if (!Number.isFinite(metrics[name])) {
            throw new AppError(
              "VALIDATION_FAILED",
              `points/${index}/metrics/${name} must be a finite number`,
            );
          }
        }
      }
      if (points.length > writes.capacity) {
        throw new AppError(
          "VALIDATION_FAILED",
          `a device may write at most ${writes.capacity} points per minute; send at most that many at once`,
        );
      }
      const allowed = await ctx.limits.charge(writes, `${request.tenant}\u0000${id}`, points.length);
      if (!allowed.ok) {
        ctx.metrics?.budgetRejections.inc({ budget: "device_writes" });
        throw new AppError("RATE_LIMITED", `at most ${writes.capacity} points per minute per device`, {
          headers: { "retry-after": String(Math.max(1, Math.ceil(allowed.retryAfterMs / 1000))) },
        });
      }
      requestContext().set({ action: "telemetry.write" });
      const accepted = points.map((point) => ({
        timestamp_ms: point.timestamp_ms,
        metrics: point.metrics as Record<string, number>,
        source: "api",
      }));
      const { written } = await ctx.router.stores.telemetry.append(request.tenant, id, accepted);
      latest.recordWrite(request.tenant, id, accepted);
      await ctx.connectivity.seen(device, request.log);
      // Alarms are judged as the points arrive (docs/design/alarms.md): no read for a device without rules.
      await ctx.alarmEvaluator.pointsWritten(request.tenant, id, accepted);
      return reply.status(202).send({ accepted: written });
    },
  );

  api.get(
    "/api/devices/:id/telemetry",
    {
      config: requires.anyRole,
      schema: {
        tags: ["telemetry"],
        summary: "The latest points (?limit=), or a window (?from=&to=&limit=&cursor=), newest first",
        params: IdParams,
        querystring: TelemetryQuery,
        response: {
          200: Type.Object({
            points: Type.Array(
              Type.Object({
                timestamp_ms: Type.Integer(),
                metrics: Type.Record(Type.String(), Type.Number()),
                out_of_range: Type.Optional(
                  Type.Array(Type.String(), {
                    description: "metrics outside their point definition's valid range; absent when none",
                  }),
                ),
              }),
            ),
            next_cursor: NextCursor,
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { points: definitions } = await ctx.devices.owned(request, id);
      const { limit = 100, from, to, cursor } = request.query;
      if (from === undefined && to === undefined && cursor === undefined) {
        requestContext().set({ action: "telemetry.latest" });
        const points = await latest.latest(request.tenant, id, limit);
        return { points: points.map((point) => publicPoint(point, definitions)), next_cursor: null };
      }
      requestContext().set({ action: "telemetry.window" });
      const window = { from: from ?? 0, to: to ?? ctx.clock() + MAX_FUTURE_MS + 1 };
      if (window.from >= window.to) throw new AppError("VALIDATION_FAILED", "from must be before to");
      const page = await ctx.router.stores.telemetry.window(request.tenant, id, {
        ...window,
        limit,
        cursor: cursor ?? null,
      });
      return {
        points: page.items.map((point) => publicPoint(point, definitions)),
        next_cursor: page.next_cursor,
      };
    },
  );
}
