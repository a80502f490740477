import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Static, type TSchema, Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { SEEN_WRITE_INTERVAL_MS } from "../devices/connectivity.js";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { Cursor, IdParams, MetricName, NextCursor, Severity } from "../http/schemas.js";
import { requestContext } from "../observability/request-context.js";
import type { ServiceContext } from "../service.js";
import { refuseOtherTenant } from "../tenancy/cross-tenant.js";
import { ALARM_ID_PATTERN } from "./judge.js";
import { publicAlarm } from "./records.js";
import { type AlarmRule, MAX_RULES_PER_DEVICE, type NewAlarmRule } from "./types.js";

/** A rule's condition may be held for at most a week before it raises. */
const MAX_FOR_MS = 7 * 24 * 3600 * 1000;
/**
 * `last_seen_ms` is exact to the minute (devices/connectivity.ts), so a shorter offline time would raise
 * alarms for devices that are talking.
 */
const MIN_OFFLINE_FOR_MS = 2 * SEEN_WRITE_INTERVAL_MS;

const RuleKind = Type.Union([Type.Literal("threshold"), Type.Literal("offline")]);
const Op = Type.Union([Type.Literal(">"), Type.Literal("<"), Type.Literal("outside")]);
const State = Type.Union([Type.Literal("active"), Type.Literal("acknowledged"), Type.Literal("cleared")]);
const Bound = Type.Number({ minimum: -1e12, maximum: 1e12 });

const NewRuleBody = Type.Object(
  {
    device_id: Type.String({ format: "uuid" }),
    kind: Type.Optional(RuleKind),
    metric: Type.Optional(MetricName),
    op: Type.Optional(Op),
    threshold: Type.Optional(Bound),
    min: Type.Optional(Bound),
    max: Type.Optional(Bound),
    for_ms: Type.Integer({
      minimum: 0,
      maximum: MAX_FOR_MS,
      description: "how long the condition must hold before the alarm is raised",
    }),
    severity: Severity,
  },
  { additionalProperties: false },
);

const PublicRule = Type.Object({
  id: Type.String(),
  device_id: Type.String(),
  kind: RuleKind,
  metric: Type.Optional(Type.String()),
  op: Type.Optional(Type.String()),
  threshold: Type.Optional(Type.Number()),
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
  for_ms: Type.Integer(),
  severity: Severity,
  created_at: Type.Integer(),
  created_by: Type.Union([Type.String(), Type.Null()]),
});

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const PublicAlarm = Type.Object({
  id: Type.String(),
  rule_id: Type.String(),
  device_id: Type.String(),
  kind: RuleKind,
  metric: Type.Union([Type.String(), Type.Null()]),
  severity: Severity,
  state: State,
  value: Nullable(Type.Number({ description: "the reading that raised it; null for an offline alarm" })),
  raised_ms: Type.Integer(),
  acknowledged_by: Type.Union([Type.String(), Type.Null()], { description: "the acknowledging user's id" }),
  acknowledged_ms: Nullable(Type.Integer()),
  cleared_ms: Nullable(Type.Integer()),
});

const AlarmParams = Type.Object(
  { id: Type.String({ pattern: ALARM_ID_PATTERN, maxLength: 64 }) },
  { additionalProperties: false },
);

/** The rule a request describes, or a 400 naming what is missing or superfluous for its kind. */
function ruleOf(body: Static<typeof NewRuleBody>): NewAlarmRule {
  const { device_id, for_ms, severity } = body;
  const common = { device_id, for_ms, severity };
  const given = (names: readonly string[]) =>
    names.filter((name) => (body as Record<string, unknown>)[name] !== undefined);
  if (body.kind === "offline") {
    const extra = given(["metric", "op", "threshold", "min", "max"]);
    if (extra.length > 0)
      throw new AppError("VALIDATION_FAILED", `an offline rule takes no ${extra.join(", ")}`);
    if (for_ms < MIN_OFFLINE_FOR_MS) {
      throw new AppError(
        "VALIDATION_FAILED",
        `an offline rule's for_ms is at least ${MIN_OFFLINE_FOR_MS} (${MIN_OFFLINE_FOR_MS / 60_000} min)`,
      );
    }
    return { kind: "offline", ...common };
  }
  const { metric, op, threshold, min, max } = body;
  if (metric === undefined || op === undefined) {
    throw new AppError("VALIDATION_FAILED", "a threshold rule needs metric and op");
  }
  if (op === "outside") {
    if (min === undefined || max === undefined || min > max || threshold !== undefined) {
      throw new AppError("VALIDATION_FAILED", 'op "outside" takes min and max (min ≤ max) and no threshold');
    }
    return { kind: "threshold", metric, op, min, max, ...common };
  }
  if (threshold === undefined || min !== undefined || max !== undefined) {
    throw new AppError("VALIDATION_FAILED", `op "${op}" takes threshold and no min or max`);
  }
  return { kind: "threshold", metric, op, threshold, ...common };
}

function publicRule(rule: AlarmRule) {
  const { tenant_id: _tenant, ...shown } = rule;
  return shown;
}

/**
 * `/api/alarm-rules` (admins edit, every role reads) and `/api/alarms` (every role reads, operators and
 * admins acknowledge): docs/design/alarms.md. Every rule change and acknowledgement is audited.
 */
export function registerAlarmRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Another tenant's rule or alarm is a 403 with an audit entry; an unknown one a 404. */
  const refuseUnowned = async (request: FastifyRequest, id: string, what: string): Promise<never> => {
    if ((await ctx.alarms.ownership(request.tenant, id)) === "other_tenant") {
      return refuseOtherTenant(request, "cross_tenant_resource", `${what}:${id}`);
    }
    throw new AppError("NOT_FOUND", `No such ${what.replace("_", " ")}.`);
  };

  api.post(
    "/api/alarm-rules",
    {
      config: { ...requires.admin, errors: ["NOT_FOUND", "CONFLICT"] },
      schema: {
        tags: ["alarms"],
        summary: "Create an alarm rule: a threshold on a device's metric, or the device going offline",
        body: NewRuleBody,
        response: { 201: Type.Object({ rule: PublicRule }) },
      },
    },
    async (request, reply) => {
      const rule = ruleOf(request.body);
      await ctx.devices.owned(request, rule.device_id);
      const existing = await ctx.alarms.rulesForDevice(request.tenant, rule.device_id);
      if (existing.length >= MAX_RULES_PER_DEVICE) {
        throw new AppError("CONFLICT", `a device has at most ${MAX_RULES_PER_DEVICE} alarm rules`);
      }
      requestContext().set({ action: "alarm_rule.create" });
      const created = await ctx.alarms.createRule(request.tenant, rule, sessionOf(request).user.id);
      await ctx.alarmEvaluator.rulesChanged(request.tenant, rule.device_id);
      await request.audit({
        action: "alarm_rule.create",
        outcome: "success",
        target: `alarm_rule:${created.id}`,
        details: { device_id: rule.device_id, kind: rule.kind, severity: rule.severity },
      });
      return reply.status(201).send({ rule: publicRule(created) });
    },
  );

  api.get(
    "/api/alarm-rules",
    {
      config: { ...requires.anyRole, errors: ["NOT_FOUND"] },
      schema: {
        tags: ["alarms"],
        summary:
          "The tenant's alarm rules, oldest first; ?device_id= for one device's (all of them, one page)",
        querystring: Type.Object(
          {
            device_id: Type.Optional(Type.String({ format: "uuid" })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 100 })),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ rules: Type.Array(PublicRule), next_cursor: NextCursor }) },
      },
    },
    async (request) => {
      const { device_id, limit = 100, cursor } = request.query;
      if (device_id !== undefined) {
        await ctx.devices.owned(request, device_id);
        // A device has at most MAX_RULES_PER_DEVICE rules: one query, one page (the device page lists them).
        const rules = await ctx.alarms.rulesForDevice(request.tenant, device_id);
        return { rules: rules.map(publicRule), next_cursor: null };
      }
      const page = await ctx.alarms.listRules(request.tenant, { limit, cursor: cursor ?? null });
      return { rules: page.items.map(publicRule), next_cursor: page.next_cursor };
    },
  );

  api.delete(
    "/api/alarm-rules/:id",
    {
      config: requires.admin,
      schema: {
        tags: ["alarms"],
        summary: "Delete an alarm rule; its open alarm is cleared",
        params: IdParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const rule = await ctx.alarms.getRule(request.tenant, id);
      if (!rule) return refuseUnowned(request, id, "alarm_rule");
      requestContext().set({ action: "alarm_rule.delete" });
      await ctx.alarms.deleteRule(request.tenant, id, ctx.clock());
      await ctx.alarmEvaluator.rulesChanged(request.tenant, rule.device_id);
      await request.audit({
        action: "alarm_rule.delete",
        outcome: "success",
        target: `alarm_rule:${id}`,
        details: { device_id: rule.device_id },
      });
      return { deleted: true };
    },
  );

  api.get(
    "/api/alarms",
    {
      config: requires.anyRole,
      schema: {
        tags: ["alarms"],
        summary: "Alarms, newest raised first; ?state=active|acknowledged|cleared for one state only",
        querystring: Type.Object(
          {
            state: Type.Optional(State),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ alarms: Type.Array(PublicAlarm), next_cursor: NextCursor }) },
      },
    },
    async (request) => {
      const { state, limit = 50, cursor } = request.query;
      const page = await ctx.alarms.listAlarms(request.tenant, {
        ...(state && { state }),
        limit,
        cursor: cursor ?? null,
      });
      return { alarms: page.items.map(publicAlarm), next_cursor: page.next_cursor };
    },
  );

  api.get(
    "/api/alarms/count",
    {
      config: requires.anyRole,
      schema: {
        tags: ["alarms"],
        summary:
          "How many alarms are in one state (default active), counted without reading them: what the dashboard's badge shows",
        querystring: Type.Object({ state: Type.Optional(State) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            state: State,
            count: Type.Integer({
              minimum: 0,
              description: "billed one read per 1,000 alarms counted on Firestore, at least one",
            }),
          }),
        },
      },
    },
    async (request) => {
      // Active alarms are the open ones nobody has acknowledged yet (active → acknowledged → cleared):
      // the one number the badge needs; each further state would be one more billed aggregation.
      const { state = "active" } = request.query;
      return { state, count: await ctx.alarms.countAlarms(request.tenant, state) };
    },
  );

  api.post(
    "/api/alarms/:id/ack",
    {
      config: requires.writer,
      schema: {
        tags: ["alarms"],
        summary: "Acknowledge an alarm (operator or admin); acknowledging again changes nothing",
        params: AlarmParams,
        response: { 200: Type.Object({ alarm: PublicAlarm }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const by = sessionOf(request).user.id;
      requestContext().set({ action: "alarm.acknowledge" });
      const alarm = await ctx.alarms.acknowledge(request.tenant, id, by, ctx.clock());
      if (!alarm) return refuseUnowned(request, id, "alarm");
      await request.audit({
        action: "alarm.acknowledge",
        outcome: "success",
        target: `alarm:${id}`,
        details: { rule_id: alarm.rule_id, device_id: alarm.device_id, state: alarm.state },
      });
      return { alarm: publicAlarm(alarm) };
    },
  );
}
