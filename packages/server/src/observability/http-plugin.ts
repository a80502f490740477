import type { FastifyInstance, FastifyRequest } from "fastify";
import { LogController } from "fastify";
import type { Metrics } from "./metrics.js";
import { newRequestState, type RequestFields, type RequestState, runInRequest } from "./request-context.js";

export interface ObservabilityOptions {
  metrics: Metrics;
  /**
   * Fields the app can tell from the request once it is served (its tenant, the device in the URL…),
   * for the summary line and the action histogram; fields set through `requestContext().set` win.
   */
  describeRequest?: (request: FastifyRequest) => RequestFields;
  /** Where Prometheus scrapes; `false` to serve no endpoint (e.g. a separate admin port). */
  metricsPath?: string | false;
}

const kState = Symbol("firebrick.requestState");
type WithState = FastifyRequest & { [kState]?: RequestState };

// Requests that match no route share one label, so scanners probing random URLs add no series.
const UNMATCHED_ROUTE = "unmatched";

/**
 * Request observability: a latency histogram by route pattern and status, error counts by code,
 * `GET /metrics`, and one summary log line per request with `request_id`, `tenant_id`, `device_id`,
 * `action`, `reads`, `writes` and `latency_ms`. Store calls made while serving the request are tallied
 * through `requestScopedUsage()`; handlers name the tenant, device and action via `requestContext().set`.
 *
 * Register it right after `buildApp`, before feature routes. Pair it with `requestLogController()`
 * in the Fastify options so that Fastify's own per-request lines do not duplicate the summary.
 *
 * @example
 * const app = await buildApp({ logger, readiness });
 * registerObservability(app, { metrics });
 */
export function registerObservability(app: FastifyInstance, options: ObservabilityOptions): void {
  const { metrics } = options;

  app.addHook("onRequest", (request, _reply, done) => {
    const state = newRequestState(request.id);
    (request as WithState)[kState] = state;
    runInRequest(state, done);
  });
  // Body parsing continues on socket events, outside the context entered above; re-enter it so the
  // handler and everything it awaits see their request.
  app.addHook("preValidation", (request, _reply, done) => {
    const state = (request as WithState)[kState];
    if (state) runInRequest(state, done);
    else done();
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    if (reply.statusCode >= 400) {
      const code = errorCodeOf(payload);
      if (code) metrics.errors.inc({ code });
    }
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    const state = (request as WithState)[kState];
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const latencyMs = reply.elapsedTime;
    const statusCode = reply.statusCode;
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status_code: String(statusCode) },
      latencyMs / 1000,
    );
    const level = statusCode >= 500 ? "error" : "info";
    // Describing the request and building its line cost more than the rest of this hook; at a log level
    // that drops the line (FIREBRICK_LOG_LEVEL=warn) neither is done. The action comes from the handler.
    const logged =
      (request.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.(level) ?? true;
    const fields = { ...(logged ? safeDescribe(options.describeRequest, request) : {}), ...state?.fields };
    // The latency SLIs count answers, not refusals: a fast 401 must not flatter the "last 100" P95,
    // and failures have the error-rate alert.
    if (fields.action && statusCode < 400) {
      metrics.actionDuration.observe({ action: fields.action }, latencyMs / 1000);
    }
    if (!logged) return;
    // With `requestLogController()` the child logger already binds `request_id`; a second one would
    // write the key twice into the JSON line.
    const bound = hasRequestIdBinding(request);
    request.log[level](
      {
        ...(bound ? {} : { request_id: request.id }),
        tenant_id: fields.tenant_id,
        device_id: fields.device_id,
        user_id: fields.user_id,
        action: fields.action ?? `${request.method} ${route}`,
        method: request.method,
        route,
        status_code: statusCode,
        reads: state?.usage.reads ?? 0,
        writes: state?.usage.writes ?? 0,
        latency_ms: Math.round(latencyMs * 100) / 100,
      },
      "request served",
    );
  });

  const path = options.metricsPath ?? "/metrics";
  if (path !== false) {
    const schema = {
      tags: ["service"],
      summary: "Prometheus metrics of this instance (text exposition format)",
      response: {
        200: { description: "the metrics", content: { "text/plain": { schema: { type: "string" } } } },
      },
    };
    app.get(path, { logLevel: "warn", schema }, async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  }
}

/**
 * Fastify's log controller for Firebrick: Fastify's own "incoming request" / "request completed" lines
 * are dropped (the observability plugin writes one richer line per request) and the request id is
 * logged as `request_id`. Pass it as the `logController` option of `Fastify()`.
 */
export function requestLogController(): LogController {
  return new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" });
}

function safeDescribe(
  describe: ((request: FastifyRequest) => RequestFields) | undefined,
  request: FastifyRequest,
): RequestFields {
  if (!describe) return {};
  try {
    const described = describe(request);
    return Object.fromEntries(
      Object.entries(described).filter(([, value]) => typeof value === "string" && value),
    );
  } catch {
    // Describing a request for its log line must never fail the request.
    return {};
  }
}

function hasRequestIdBinding(request: FastifyRequest): boolean {
  const log = request.log as { bindings?: () => Record<string, unknown> };
  return typeof log.bindings === "function" && "request_id" in log.bindings();
}

function errorCodeOf(payload: unknown): string | undefined {
  // Only our JSON error bodies are parsed; anything large or foreign is left alone.
  if (typeof payload !== "string" || payload.length > 4096 || !payload.startsWith('{"error"'))
    return undefined;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" && /^[A-Z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
