import { Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { AggregateIntervalSchema, EpochMs, IdParams, MetricList } from "../http/schemas.js";
import { requestContext } from "../observability/request-context.js";
import type { ServiceContext } from "../service.js";
import {
  type AggregateInterval,
  type AggregateQuery,
  MAX_AGGREGATE_BUCKETS,
  TELEMETRY_RETENTION_MS,
} from "../stores/types.js";
import { bucketsCsv, metricsOf, pointsCsv } from "./csv.js";

/** Points per store page while exporting: memory holds one page, whatever the range. */
const EXPORT_PAGE = 1000;

const MetricStats = Type.Object({
  min: Type.Number(),
  max: Type.Number(),
  avg: Type.Number(),
  sum: Type.Number(),
  count: Type.Integer(),
  first: Type.Number({ description: "the value of the bucket's earliest point" }),
  last: Type.Number({ description: "the value of the bucket's latest point" }),
});

const AggregateQueryString = Type.Object(
  {
    from: EpochMs("range start (epoch ms), rounded down to its bucket"),
    to: EpochMs("range end (epoch ms), exclusive"),
    interval: AggregateIntervalSchema,
    metrics: Type.Optional(MetricList),
  },
  { additionalProperties: false },
);

const ExportQueryString = Type.Object(
  {
    from: EpochMs("range start (epoch ms), inclusive"),
    to: EpochMs("range end (epoch ms), exclusive"),
    interval: Type.Optional(AggregateIntervalSchema),
    metrics: Type.Optional(MetricList),
  },
  { additionalProperties: false },
);

/**
 * Trends (docs/design/trends.md): `GET /api/devices/:id/telemetry/aggregate` (buckets from stored
 * rollups) and `GET /api/devices/:id/telemetry.csv` (raw points, or buckets, streamed page by page).
 * Tenant- and role-checked like the raw reads: any role of the device's tenant.
 */
export function registerTrendRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /** The store query of a request: its tenant's time zone for `1d` buckets, its metrics. */
  const queryOf = async (
    request: FastifyRequest,
    range: { from: number; to: number; interval: AggregateInterval; metrics?: string | undefined },
  ): Promise<AggregateQuery> => {
    if (range.from >= range.to) throw new AppError("VALIDATION_FAILED", "from must be before to");
    const zone =
      range.interval === "1d"
        ? await ctx.tenantZones.of(request.tenant)
        : { timeZone: "UTC", timeZoneSince: 0 };
    return {
      from: range.from,
      to: range.to,
      interval: range.interval,
      ...zone,
      ...(range.metrics !== undefined && { metrics: range.metrics.split(",") }),
    };
  };

  api.get(
    "/api/devices/:id/telemetry/aggregate",
    {
      config: requires.anyRole,
      schema: {
        tags: ["telemetry"],
        summary: `Trend buckets (min, max, avg, sum, count, first, last per metric), oldest first; at most ${MAX_AGGREGATE_BUCKETS} buckets`,
        params: IdParams,
        querystring: AggregateQueryString,
        response: {
          200: Type.Object({
            interval: AggregateIntervalSchema,
            time_zone: Type.String({ description: "the zone of 1d buckets (UTC for the others)" }),
            buckets: Type.Array(
              Type.Object({ start_ms: Type.Integer(), metrics: Type.Record(Type.String(), MetricStats) }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      await ctx.devices.owned(request, id);
      requestContext().set({ action: "telemetry.aggregate" });
      const query = await queryOf(request, request.query);
      const buckets = await ctx.router.stores.telemetry.aggregate(request.tenant, id, query);
      return { interval: query.interval, time_zone: query.timeZone, buckets };
    },
  );

  api.get(
    "/api/devices/:id/telemetry.csv",
    {
      config: requires.anyRole,
      schema: {
        tags: ["telemetry"],
        summary:
          "History as CSV: raw points (one column per metric), or with ?interval= trend buckets; ISO-8601 UTC and epoch ms",
        params: IdParams,
        querystring: ExportQueryString,
        produces: ["text/csv"],
        response: {
          // A stream, sent as it is (Fastify serializes no stream); described as text for the document.
          200: Type.Unsafe<Readable | string>({ type: "string", description: "text/csv, streamed" }),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await ctx.devices.owned(request, id);
      requestContext().set({ action: "telemetry.export" });
      const { from, to, interval, metrics } = request.query;
      const telemetry = ctx.router.stores.telemetry;
      const name = `${id}_${new Date(from).toISOString().slice(0, 10)}_${new Date(to).toISOString().slice(0, 10)}`;
      reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${name}${interval ? `_${interval}` : ""}.csv"`)
        .header("cache-control", "no-store");
      if (interval) {
        const query = await queryOf(request, { from, to, interval, metrics });
        const buckets = await telemetry.aggregate(request.tenant, id, query);
        const csv = bucketsCsv(query.metrics ?? metricsOf(buckets));
        return reply.send(csv.header() + csv.rows(buckets));
      }
      if (from >= to) throw new AppError("VALIDATION_FAILED", "from must be before to");
      // The columns must be known before the first row: the metrics of the range's rollups, at most
      // a few documents whatever the number of points (raw points exist for 90 days at most).
      const kept = { from: Math.max(from, ctx.clock() - TELEMETRY_RETENTION_MS), to };
      const columns =
        metrics?.split(",") ??
        (kept.from < kept.to
          ? metricsOf(
              await telemetry.aggregate(request.tenant, id, {
                ...kept,
                interval: kept.to - kept.from <= MAX_AGGREGATE_BUCKETS * 3_600_000 ? "1h" : "1d",
                timeZone: "UTC",
              }),
            )
          : []);
      const csv = pointsCsv(columns);
      const tenant = request.tenant;
      // Page by page, in time order: the store is read again only when the client has taken the page.
      async function* pages(): AsyncGenerator<string> {
        yield csv.header();
        let cursor: string | null = null;
        do {
          const page = await telemetry.windowAscending(tenant, id, {
            from,
            to,
            limit: EXPORT_PAGE,
            cursor,
          });
          if (page.items.length > 0) yield csv.rows(page.items);
          cursor = page.next_cursor;
        } while (cursor);
      }
      return reply.send(Readable.from(pages(), { objectMode: false, highWaterMark: 1 }));
    },
  );
}
