import { type Logger, pino } from "pino";
import type { LogLevel } from "../config/env.js";
import { maskUsername, sanitizeLogObject, sanitizeUrl, scrubText } from "./log-policy.js";
import { currentRequest } from "./request-context.js";

/** The plan's ceiling for debug sampling in production ("debug sampling ≤ 10 %"). */
export const MAX_DEBUG_SAMPLE_RATE = 0.1;

export interface LoggerOptions {
  /** Share of debug and trace lines kept, 0..0.1; decided once per request. Default 0.1. */
  debugSampleRate?: number;
  /** Source of randomness for sampling; tests pass a deterministic one. */
  random?: () => number;
}

// Fast paths for what Fastify and the stores log most; `sanitizeLogObject` catches the rest at any depth.
const REDACT = [
  "req.headers.cookie",
  "req.headers.authorization",
  'res.headers["set-cookie"]',
  "password",
  "*.password",
  "password_hash",
  "*.password_hash",
  "token",
  "*.token",
  "token_hash",
  "*.token_hash",
  "username",
  "*.username",
];

/**
 * The process-wide structured JSON logger, with Firebrick's logging policy built in
 * (docs/design/observability.md):
 * - no session token, device token, password or hash is ever written, whatever the caller passes;
 * - usernames are masked (`alice` → `a***`); only the audit log, which is a store and not this logger,
 *   keeps them;
 * - lines logged while serving a request carry its `tenant_id`, `device_id` and `action`;
 * - debug and trace lines are sampled at `debugSampleRate` (at most 10 %), one decision per request.
 *
 * @example
 * const logger = createLogger(config.logLevel, undefined, { debugSampleRate: config.debugSampleRate });
 */
export function createLogger(
  level: LogLevel,
  destination?: pino.DestinationStream,
  options: LoggerOptions = {},
): Logger {
  const rate = Math.min(Math.max(options.debugSampleRate ?? MAX_DEBUG_SAMPLE_RATE, 0), MAX_DEBUG_SAMPLE_RATE);
  const random = options.random ?? Math.random;
  const keepDebugLine = (): boolean => {
    const request = currentRequest();
    if (!request) return random() < rate;
    request.debugSampled ??= random() < rate;
    return request.debugSampled;
  };

  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service: "firebrick" },
    redact: {
      paths: REDACT,
      censor: (value: unknown, path: string[]) =>
        path.at(-1) === "username" && typeof value === "string" ? maskUsername(value) : "[redacted]",
    },
    serializers: {
      // Error messages and stacks can quote a document path or a header; they pass the same filter.
      err: (error: unknown) => {
        const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
        return sanitizeLogObject(
          Object.fromEntries(
            Object.entries(serialized).map(([key, value]) => [
              key,
              typeof value === "string" ? scrubText(value) : value,
            ]),
          ),
        );
      },
      // Fastify's request serializer logs the raw URL; a token in a query string must not get through.
      req: (request: { method?: string; url?: string; ip?: string; id?: string }) => ({
        method: request.method,
        url: request.url === undefined ? undefined : sanitizeUrl(request.url),
        remote_address: request.ip,
      }),
    },
    formatters: { log: (object) => sanitizeLogObject(object) as Record<string, unknown> },
    mixin() {
      const fields = currentRequest()?.fields;
      if (!fields) return {};
      const context: Record<string, string> = {};
      if (fields.tenant_id) context.tenant_id = fields.tenant_id;
      if (fields.device_id) context.device_id = fields.device_id;
      if (fields.action) context.action = fields.action;
      return context;
    },
    hooks: {
      logMethod(args, method, levelValue) {
        // 20 = debug, 10 = trace: only these are sampled; info and above are always kept.
        if (levelValue < 30 && !keepDebugLine()) return;
        // The message text too: `log.info("token " + token)` must not get through either.
        const cleaned = args.map((arg) => (typeof arg === "string" ? scrubText(arg) : arg)) as typeof args;
        method.apply(this, cleaned);
      },
    },
  };
  return destination ? pino(pinoOptions, destination) : pino(pinoOptions);
}

export type { Logger };
export { maskUsername };
