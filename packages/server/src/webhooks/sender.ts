import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { DELIVERY_HEADER, SIGNATURE_HEADER, signBody } from "./signature.js";
import { guardedLookup } from "./target.js";

/** What one POST gave: the receiver's status, or why none came. */
export type SendResult = { status: number; durationMs: number } | { error: string; durationMs: number };

export type Sender = (url: string, body: string, headers: Record<string, string>) => Promise<SendResult>;

/** A receiver that has not answered within this is an error (the attempt is retried). */
export const SEND_TIMEOUT_MS = 10_000;
/** At most this much of a receiver's answer is read (and then dropped): it is not ours to keep. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs with node's own HTTP client, resolving names through `guardedLookup` so that a name a tenant
 * registered cannot lead to a private address unless the operator allows it; no redirect is followed.
 *
 * @example
 * const send = httpSender({ allowPrivate: false });
 * const result = await send(url, body, deliveryHeaders(secret, id, body));
 */
export function httpSender(options: { allowPrivate: boolean; timeoutMs?: number }): Sender {
  const lookup = guardedLookup(options.allowPrivate);
  const timeoutMs = options.timeoutMs ?? SEND_TIMEOUT_MS;
  return (url, body, headers) =>
    new Promise((resolve) => {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const target = new URL(url);
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const request = send(
        target,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...headers,
          },
          lookup,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          let read = 0;
          response.on("data", (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_ANSWER_BYTES) response.destroy();
          });
          const done = () => finish({ status: response.statusCode ?? 0, durationMs: elapsed() });
          response.on("end", done);
          response.on("close", done);
          response.on("error", done);
        },
      );
      request.on("error", (error: NodeJS.ErrnoException) => {
        const reason =
          error.name === "AbortError" ? `no answer within ${timeoutMs} ms` : (error.code ?? error.message);
        finish({ error: reason, durationMs: elapsed() });
      });
      request.end(body);
    });
}

/** The headers of one attempt: the body's signature under the webhook's secret, and the delivery id. */
export function deliveryHeaders(secret: string, deliveryId: string, body: string): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: signBody(secret, body),
    [DELIVERY_HEADER]: deliveryId,
    "user-agent": "Firebrick-Webhooks/1",
  };
}
