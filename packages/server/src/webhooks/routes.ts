import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { sessionOf } from "../auth/principal.js";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { Cursor, IdParams, NextCursor, Severity } from "../http/schemas.js";
import { requestContext } from "../observability/request-context.js";
import type { ServiceContext } from "../service.js";
import { refuseOtherTenant } from "../tenancy/cross-tenant.js";
import { newWebhookSecret } from "./signature.js";
import { MAX_WEBHOOK_URL_LENGTH, refuseWebhookUrl } from "./target.js";
import { MAX_WEBHOOKS_PER_TENANT, type Webhook } from "./types.js";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const NewWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH, description: "http(s)" }),
    description: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]+$" }),
    ),
    severities: Type.Optional(
      Type.Array(Severity, {
        minItems: 1,
        maxItems: 4,
        uniqueItems: true,
        description: "only alarms of these severities are sent; all when absent",
      }),
    ),
  },
  { additionalProperties: false },
);

const PublicWebhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Nullable(Type.String()),
  severities: Nullable(Type.Array(Severity)),
  created_at: Type.Integer(),
  created_by: Nullable(Type.String()),
  secret_rotated_at: Nullable(Type.Integer()),
});

const Secret = Type.String({
  description: "the HMAC-SHA256 signing secret: shown in this answer only, never again",
});

const Attempt = Type.Object({
  delivery_id: Type.String({ description: "the payload's id: the receiver's deduplication key" }),
  event: Type.String(),
  attempt: Type.Integer({ description: "1 for the first attempt" }),
  at_ms: Type.Integer(),
  status_code: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  duration_ms: Type.Integer(),
  state: Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")]),
  next_attempt_ms: Nullable(Type.Integer()),
});

function shown(webhook: Webhook) {
  const { tenant_id: _tenant, ...rest } = webhook;
  return rest;
}

/**
 * `/api/webhooks` (admins): registrations, secret rotation and the delivery log (docs/design/webhooks.md).
 * Every change is audited; a secret appears in the answer that created it and nowhere else.
 */
export function registerWebhookRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Another tenant's webhook is a 403 with an audit entry; an unknown one a 404. */
  const refuseUnowned = async (request: FastifyRequest, id: string): Promise<never> => {
    if ((await ctx.webhooks.ownership(request.tenant, id)) === "other_tenant") {
      return refuseOtherTenant(request, "cross_tenant_resource", `webhook:${id}`);
    }
    throw new AppError("NOT_FOUND", "No such webhook.");
  };

  api.post(
    "/api/webhooks",
    {
      config: { ...requires.admin, errors: ["CONFLICT"] },
      schema: {
        tags: ["webhooks"],
        summary: "Register a webhook for the tenant's alarm transitions; its signing secret is shown once",
        body: NewWebhookBody,
        response: { 201: Type.Object({ webhook: PublicWebhook, secret: Secret }) },
      },
    },
    async (request, reply) => {
      const { url, description, severities } = request.body;
      const refused = refuseWebhookUrl(url, ctx.webhookTargets.allowPrivate);
      if (refused) throw new AppError("VALIDATION_FAILED", refused);
      requestContext().set({ action: "webhook.create" });
      const secret = newWebhookSecret();
      const webhook = await ctx.webhooks.create(
        request.tenant,
        { url, description: description ?? null, severities: severities ?? null },
        secret,
        sessionOf(request).user.id,
      );
      if (!webhook) {
        throw new AppError("CONFLICT", `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`);
      }
      await request.audit({
        action: "webhook.create",
        outcome: "success",
        target: `webhook:${webhook.id}`,
        details: { host: new URL(url).host, severities: webhook.severities },
      });
      // The secret is in this answer only: no cache (browser, proxy) may keep a copy.
      return reply
        .status(201)
        .header("cache-control", "no-store")
        .send({ webhook: shown(webhook), secret });
    },
  );

  api.get(
    "/api/webhooks",
    {
      config: requires.admin,
      schema: {
        tags: ["webhooks"],
        summary: "The tenant's webhooks, oldest first (never their secrets)",
        response: { 200: Type.Object({ webhooks: Type.Array(PublicWebhook) }) },
      },
    },
    async (request) => ({ webhooks: (await ctx.webhooks.list(request.tenant)).map(shown) }),
  );

  api.delete(
    "/api/webhooks/:id",
    {
      config: requires.admin,
      schema: {
        tags: ["webhooks"],
        summary: "Delete a webhook; its pending deliveries are given up",
        params: IdParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      requestContext().set({ action: "webhook.delete" });
      if (!(await ctx.webhooks.delete(request.tenant, id))) return refuseUnowned(request, id);
      await request.audit({ action: "webhook.delete", outcome: "success", target: `webhook:${id}` });
      return { deleted: true };
    },
  );

  api.post(
    "/api/webhooks/:id/secret",
    {
      config: requires.admin,
      schema: {
        tags: ["webhooks"],
        summary:
          "Rotate a webhook's signing secret; the new one is shown once and signs every attempt from now",
        params: IdParams,
        response: { 200: Type.Object({ webhook: PublicWebhook, secret: Secret }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      requestContext().set({ action: "webhook.rotate_secret" });
      const secret = newWebhookSecret();
      const webhook = await ctx.webhooks.rotateSecret(request.tenant, id, secret, ctx.clock());
      if (!webhook) return refuseUnowned(request, id);
      await request.audit({ action: "webhook.rotate_secret", outcome: "success", target: `webhook:${id}` });
      return reply.header("cache-control", "no-store").send({ webhook: shown(webhook), secret });
    },
  );

  api.get(
    "/api/webhooks/:id/deliveries",
    {
      config: requires.admin,
      schema: {
        tags: ["webhooks"],
        summary:
          "A webhook's delivery attempts, newest first: status or error, duration, next attempt (kept 30 days)",
        params: IdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ attempts: Type.Array(Attempt), next_cursor: NextCursor }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if ((await ctx.webhooks.ownership(request.tenant, id)) !== "owned") return refuseUnowned(request, id);
      const { limit = 50, cursor } = request.query;
      const page = await ctx.webhooks.attempts(request.tenant, id, { limit, cursor: cursor ?? null });
      return {
        attempts: page.items.map(({ tenant_id: _tenant, webhook_id: _webhook, ...attempt }) => attempt),
        next_cursor: page.next_cursor,
      };
    },
  );
}
