import { randomUUID } from "node:crypto";
import { type ServerOptions, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { ERRORS, type ErrorBody, type ErrorCode } from "../errors.js";

/** What one client connection may hold (docs/design/failures.md, "Slow clients"): `Config.connections`. */
export interface ConnectionLimits {
  /** A request whose headers and body have not all arrived within this is answered 408 and closed. */
  requestTimeoutMs: number;
  /** Open connections at most; more are closed as they arrive. */
  max: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { requestTimeoutMs: 30_000, max: 1024 };

/**
 * Node's own deadlines for a request in arrival, as Fastify passes them to `http.createServer`: the whole
 * request (headers and body) within `requestTimeoutMs`, the headers within it too. Node checks its
 * connections every `connectionsCheckingInterval` (30 s by default, which would double a 30 s bound), so a
 * slow request is cut within a quarter of the bound after it (at most 5 s).
 *
 * Fastify's own default turns `requestTimeout` off: a client sending one byte every few seconds then held
 * its connection for as long as it liked.
 */
export function nodeServerOptions(limits: ConnectionLimits): {
  requestTimeout: number;
  connectionTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: limits.requestTimeoutMs,
    // A connection that sends nothing at all (not even a first header byte) is under no request's
    // deadline: it is closed once it has been silent this long.
    connectionTimeout: limits.requestTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, Math.max(50, Math.floor(limits.requestTimeoutMs / 4))),
    },
  };
}

/** Past `max` open connections, Node closes a new one as it arrives: slow clients cannot exhaust the process. */
export function capConnections(app: FastifyInstance, limits: ConnectionLimits): void {
  app.server.maxConnections = limits.max;
}

const CLIENT_ERRORS: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: "REQUEST_TIMEOUT",
  HPE_HEADER_OVERFLOW: "HEADERS_TOO_LARGE",
};

/**
 * Fastify's `clientErrorHandler`: what a connection is told before it is closed for a request that never
 * reached a route (too slow, unparseable, headers too large), in the one error format.
 */
export function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket) {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const code = CLIENT_ERRORS[error.code ?? ""] ?? "VALIDATION_FAILED";
  const requestId = randomUUID();
  const { status, message } = ERRORS[code];
  const body: ErrorBody = { error: { code, message, request_id: requestId } };
  const text = JSON.stringify(body);
  this.log.debug({ code, request_id: requestId, remote_address: socket.remoteAddress }, "client error");
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nx-request-id: ${requestId}\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
