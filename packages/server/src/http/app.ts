import { randomUUID } from "node:crypto";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from "fastify";
import { AppError, ERRORS, type ErrorBody, type ErrorCode } from "../errors.js";
import { requestLogController } from "../observability/http-plugin.js";
import type { Logger } from "../observability/logger.js";
import {
  InvalidCursorError,
  QueryRangeError,
  StoreConflictError,
  StoreUnavailableError,
} from "../stores/types.js";
import {
  answerClientError,
  type ConnectionLimits,
  capConnections,
  DEFAULT_CONNECTION_LIMITS,
  nodeServerOptions,
} from "./connection-limits.js";
import { type ReadinessCheck, registerHealthRoutes } from "./health.js";
import { guardInputs } from "./input-guards.js";
import { lazySchemaCompilers } from "./lazy-schemas.js";
import { registerOpenApi } from "./openapi.js";

export interface AppOptions {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Extra facts for `/readyz`, e.g. which store each area uses. */
  describeReadiness?: () => Record<string, unknown>;
  /** Proxies whose `X-Forwarded-For` names the client (see `Config.trustProxy`); none by default. */
  trustProxy?: false | string;
  /** Slow requests and open connections (`Config.connections`). */
  connections?: ConnectionLimits;
}

/**
 * Builds the Fastify application: request ids, the JSON error format, the OpenAPI document (before any
 * route, so that it lists them all), health and readiness. Feature routes register themselves on the
 * returned instance.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const connections = options.connections ?? DEFAULT_CONNECTION_LIMITS;
  const app = Fastify({
    ...nodeServerOptions(connections),
    clientErrorHandler: answerClientError,
    // A URL that does not decode (`/api/devices/%ED%A0%80`) is a 400 in the one error format too.
    frameworkErrors: (error, request, reply) => {
      const body: ErrorBody = {
        error: { code: "VALIDATION_FAILED", message: error.message, request_id: request.id },
      };
      return (reply as FastifyReply).status(400).header("x-request-id", request.id).send(body);
    },
    loggerInstance: options.logger as FastifyBaseLogger,
    // One "request served" line per request comes from the observability plugin instead.
    logController: requestLogController(),
    genReqId: () => randomUUID(),
    trustProxy: options.trustProxy ?? false,
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    // Unknown fields are an error the client should hear about, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: lazySchemaCompilers() },
  });

  await registerOpenApi(app);
  capConnections(app, connections);
  guardInputs(app);

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const { code, status, message } = describe(error);
    // A 5xx the code chose to answer (an AppError: the hashing queue full) is a refusal, logged as a warning
    // without a stack: a sign-in flood must not write an error and a stack trace per refused attempt.
    // Anything else (a store down, a bug) failed, and is logged as an error with its stack.
    if (status >= 500 && error instanceof AppError) request.log.warn({ code }, "request refused");
    else if (status >= 500) request.log.error({ err: error }, "request failed");
    if (error instanceof AppError) reply.headers(error.headers);
    if (status === 503 && !reply.hasHeader("retry-after")) reply.header("retry-after", retryAfter(error));
    const body: ErrorBody = { error: { code, message, request_id: request.id } };
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: { code: "NOT_FOUND", message: ERRORS.NOT_FOUND.message, request_id: request.id },
    };
    return reply.status(404).send(body);
  });

  registerHealthRoutes(app, options.readiness, options.describeReadiness);
  return app;
}

/** Maps any thrown error to a catalogue entry; unknown errors become a bare INTERNAL, never a stack. */
function describe(error: FastifyError | AppError): { code: ErrorCode; status: number; message: string } {
  if (error instanceof AppError) return { code: error.code, status: error.status, message: error.message };
  if (error instanceof StoreConflictError) return fromCatalogue("CONFLICT");
  // A range the store cannot answer (too many trend buckets): the caller's to shorten.
  if (error instanceof QueryRangeError)
    return { code: "VALIDATION_FAILED", status: 400, message: error.message };
  if (error instanceof InvalidCursorError)
    return fromCatalogue("VALIDATION_FAILED", "The cursor is not valid.");
  if (error instanceof StoreUnavailableError) return fromCatalogue("UNAVAILABLE");
  if ((error as FastifyError).validation) {
    return { code: "VALIDATION_FAILED", status: 400, message: error.message };
  }
  const status = (error as FastifyError).statusCode;
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: "VALIDATION_FAILED",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
  };
  const code = status === undefined ? undefined : byStatus[status];
  if (code) {
    // Fastify's own client-error messages (bad JSON, wrong content type) are safe and useful to show.
    return {
      code,
      status: ERRORS[code].status,
      message: status && status < 500 ? error.message : ERRORS[code].message,
    };
  }
  return { code: "INTERNAL", status: 500, message: ERRORS.INTERNAL.message };
}

/** A store outage is short or the breaker says how long: clients retry after this, not at once. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * `Retry-After` of a 503, in whole seconds: the store's own wait when it knows one (an open breaker's),
 * see docs/design/failures.md.
 */
function retryAfter(error: unknown): string {
  const waitMs = (error instanceof StoreUnavailableError && error.retryAfterMs) || DEFAULT_RETRY_AFTER_MS;
  return String(Math.max(1, Math.ceil(waitMs / 1000)));
}

function fromCatalogue(code: ErrorCode, message?: string) {
  return { code, status: ERRORS[code].status, message: message ?? ERRORS[code].message };
}
