import swagger from "@fastify/swagger";
import type { FastifyInstance, FastifySchema, RouteOptions } from "fastify";
import { ERRORS, type ErrorCode } from "../errors.js";
import { ANY_ROLE, type RouteSecurity } from "./route-security.js";
import { ErrorResponse } from "./schemas.js";

/**
 * The OpenAPI document, derived from the routes (docs/design/api.md): a route declares its schemas, its
 * `summary` and `tags`, and who may call it (`config: requires.…`); from these this module derives each
 * operation's `operationId`, its `security` and the error responses it can give, so that a route added
 * later is described in full without a hand-written list. A handler that returns an error code of its own
 * (a conflict, a rate limit) declares it in `config.errors`.
 */

/** The security schemes a route's `RouteSecurity` maps to; their details come from `describeApi`. */
type SchemeName = "tenant" | "session" | "device";

export interface ApiDescription {
  /** Appended to the document's description. */
  description?: string;
  securitySchemes?: Partial<Record<SchemeName, Record<string, unknown>>>;
  /** Tag name → what its operations are about. */
  tags?: Record<string, string>;
}

/** A route as registered, for the test that every `/api` route is in the document. */
export interface RegisteredRoute {
  method: string;
  url: string;
  hidden: boolean;
}

interface OpenApiState {
  info: { title: string; version: string; description: string };
  securitySchemes: Record<string, unknown>;
  tags: { name: string; description: string }[];
  routes: RegisteredRoute[];
}

declare module "fastify" {
  interface FastifyInstance {
    openApi: OpenApiState;
  }
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The one error envelope (`ErrorResponse`), a shared schema of the document. */
const ERROR_SCHEMA = "#/components/schemas/Error";

/**
 * Registers `@fastify/swagger` on a new app, before any route, so that every route (health and metrics
 * included) is in the document. `buildApp` calls it; the API's composition adds its parts with `describeApi`.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const state: OpenApiState = {
    info: {
      title: "Firebrick API",
      version: "0.1.0",
      description: "Multi-tenant telemetry for building-automation systems.",
    },
    securitySchemes: {},
    tags: [{ name: "service", description: "Liveness, readiness and Prometheus metrics of one instance" }],
    routes: [],
  };
  app.decorate("openApi", state);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      state.routes.push({
        method,
        url: route.url,
        hidden: (route.schema as { hide?: boolean })?.hide === true,
      });
    }
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      // Read when the document is first generated, after every `describeApi`: these objects are shared.
      info: state.info,
      servers: [{ url: "/", description: "this server" }],
      // Filled by describeApi with OpenAPI security scheme objects.
      components: { securitySchemes: state.securitySchemes as Record<string, never> },
      tags: state.tags,
    },
    transform: ({ schema, url, route }) => ({ schema: describeOperation(schema, url, route), url }),
    transformObject: (documentObject) =>
      withErrorResponses((documentObject as { openapiObject: OpenApiDocument }).openapiObject) as never,
  });
}

/**
 * Adds the API's parts to the document: its security schemes, tags and a line of description. On an app
 * not built by `buildApp` (a plugin tested alone) there is no document, and nothing to add to.
 */
export function describeApi(app: FastifyInstance, description: ApiDescription): void {
  if (!app.hasDecorator("openApi")) return;
  const state = app.openApi;
  if (description.description) state.info.description += ` ${description.description}`;
  Object.assign(state.securitySchemes, description.securitySchemes);
  for (const [name, text] of Object.entries(description.tags ?? {})) {
    if (!state.tags.some((tag) => tag.name === name)) state.tags.push({ name, description: text });
  }
}

/** Every route registered on the app, each method apart (HEAD included), in registration order. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return app.openApi.routes;
}

/**
 * A stable operation id from the method and the path: `GET /api/devices/:id/telemetry` →
 * `getDevicesByIdTelemetry`. Method and path are unique per route, so the id is too.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split("/")
    .filter((segment) => segment !== "" && segment !== "api")
    .flatMap((segment) =>
      segment.startsWith(":") ? ["by", segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/),
    )
    .filter(Boolean);
  return method.toLowerCase() + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join("");
}

/**
 * The error codes a route can answer with: what the request gate and Fastify's parsing imply from its
 * declaration (tenant header, credential, role, body, parameters), and what it declares itself.
 */
export function errorCodesOf(
  method: string,
  url: string,
  schema: FastifySchema | undefined,
  config: unknown,
) {
  const { security, errors = [] } = (config ?? {}) as {
    security?: RouteSecurity;
    errors?: readonly ErrorCode[];
  };
  const codes = new Set<ErrorCode>(errors);
  const api = url.startsWith("/api/");
  const takesBody = BODY_METHODS.has(method);
  if (api) codes.add("TENANT_REQUIRED");
  if (takesBody || schema?.body || schema?.querystring || schema?.params) codes.add("VALIDATION_FAILED");
  if (takesBody) codes.add("PAYLOAD_TOO_LARGE").add("UNSUPPORTED_MEDIA_TYPE");
  if (security && security.auth !== "public") codes.add("UNAUTHENTICATED").add("TENANT_MISMATCH");
  if (security?.roles && ANY_ROLE.some((role) => !security.roles!.includes(role))) codes.add("FORBIDDEN");
  if (url.includes("/:")) codes.add("NOT_FOUND");
  // Every /api route reads or writes a store, and a store can be down (a breaker open, Firestore away).
  if (api) codes.add("UNAVAILABLE");
  return [...codes].sort();
}

function describeOperation(schema: FastifySchema | undefined, url: string, route: RouteOptions) {
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const declared = (schema ?? {}) as FastifySchema & { operationId?: string; security?: unknown };
  const security = route.config?.security as RouteSecurity | undefined;
  return {
    ...declared,
    operationId: declared.operationId ?? operationIdOf(method, url),
    security: declared.security ?? securityOf(url, security),
    "x-error-codes": errorCodesOf(method, url, schema, route.config),
  };
}

function securityOf(url: string, security: RouteSecurity | undefined): Record<string, string[]>[] {
  if (!url.startsWith("/api/")) return [];
  switch (security?.auth) {
    case undefined:
    case "public":
      return [{ tenant: [] }];
    case "session":
      return [{ tenant: [], session: [] }];
    case "session_or_device":
      return [
        { tenant: [], device: [] },
        { tenant: [], session: [] },
      ];
  }
}

interface OpenApiDocument {
  components: { schemas?: Record<string, unknown> };
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; "x-error-codes"?: ErrorCode[] }>
  >;
}

/** Turns each operation's `x-error-codes` into its error responses, all in the one error envelope. */
function withErrorResponses(document: OpenApiDocument): OpenApiDocument {
  document.components.schemas = { ...document.components.schemas, Error: ErrorResponse };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      const codes = operation["x-error-codes"] ?? [];
      delete operation["x-error-codes"];
      const byStatus = new Map<number, ErrorCode[]>();
      for (const code of codes)
        byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
      for (const [status, sameStatus] of [...byStatus].sort(([a], [b]) => a - b)) {
        operation.responses[String(status)] = {
          description: sameStatus.map((code) => `\`${code}\`: ${ERRORS[code].message}`).join(" "),
          ...((status === 429 || status === 503) && {
            headers: {
              "Retry-After": { description: "seconds to wait before retrying", schema: { type: "integer" } },
            },
          }),
          content: { "application/json": { schema: { $ref: ERROR_SCHEMA } } },
        };
      }
    }
  }
  return document;
}
