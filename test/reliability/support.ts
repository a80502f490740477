import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { expect } from "vitest";

/**
 * `RELIABILITY_PROFILE=full` (set by `npm run test:reliability`) scales counts and durations up; CI runs
 * the reduced form inside `npm test`. Not a FIREBRICK_* name: loadConfig refuses unknown keys of its own.
 */
export const FULL = process.env.RELIABILITY_PROFILE === "full";
export const scaled = (reduced: number, full: number) => (FULL ? full : reduced);

/**
 * Resolves once `condition()` holds, polling it; throws naming `what` after `timeoutMs`. Tests wait for
 * the condition they need (points acknowledged, workers parked), never for a fixed time: the machines are
 * shared, and a fixed time is too short on a loaded one.
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const TENANT_HEADER = "x-bas-tenant";
export const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
export const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The session cookie's value when the response sets one ("" when it clears it). */
  session: string | undefined;
}

export interface CallOptions {
  tenant?: string;
  session?: string;
  bearer?: string;
  body?: unknown;
  userAgent?: string;
  /** The client's source address: any 127.x.y.z reaches a server on 127.0.0.1, as another network would. */
  from?: string;
  /** Every request is bounded: a hang fails the test instead of stalling it. */
  timeoutMs?: number;
  /** More request headers (`Origin`, `Sec-Fetch-Site`, `X-Forwarded-Host`…). */
  headers?: Record<string, string>;
  /** The raw body, sent as is (for bodies that are not JSON). */
  rawBody?: string;
}

/** One HTTP request on a real socket, with a client-side timeout. */
export function call(url: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const { hostname, port } = new URL(url);
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: hostname,
        port: Number(port),
        method,
        path,
        ...(options.from && { localAddress: options.from }),
        timeout: options.timeoutMs ?? 10_000,
        headers: {
          "user-agent": options.userAgent ?? CHROME,
          ...(options.tenant && { [TENANT_HEADER]: options.tenant }),
          ...(options.session !== undefined && { cookie: `firebrick_session=${options.session}` }),
          ...(options.bearer && { authorization: `Bearer ${options.bearer}` }),
          ...(payload !== undefined && { "content-type": "application/json" }),
          ...options.headers,
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.once("end", () => {
          const cookie = (response.headers["set-cookie"] ?? []).find((c) =>
            c.startsWith("firebrick_session="),
          );
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text ? JSON.parse(text) : null,
            session:
              cookie === undefined ? undefined : cookie.split(";", 1)[0]!.slice("firebrick_session=".length),
          });
        });
        response.once("error", reject);
      },
    );
    request.once("timeout", () => request.destroy(new Error(`${method} ${path}: no answer in time`)));
    request.once("error", reject);
    request.end(payload);
  });
}

/** Creates `count` devices (names `VAV-0`…) through the API as the signed-in admin; their ids and tokens. */
export async function createDevices(
  url: string,
  options: { tenant: string; session: string; count: number },
): Promise<Array<{ id: string; token: string }>> {
  const devices: Array<{ id: string; token: string }> = [];
  for (let i = 0; i < options.count; i++) {
    const created = await call(url, "POST", "/api/devices", {
      tenant: options.tenant,
      session: options.session,
      body: { name: `VAV-${i}` },
    });
    expect(created.status).toBe(201);
    const body = created.body as { device: { id: string }; token: string };
    devices.push({ id: body.device.id, token: body.token });
  }
  return devices;
}
