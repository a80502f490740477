import { type ChildProcess, spawn } from "node:child_process";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { freePort } from "../../packages/server/src/firestore/emulator.js";

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

const CLI = fileURLToPath(new URL("../../packages/server/src/cli/run.ts", import.meta.url));

/** A `firebrick serve` process started by `serve`. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** What it printed on stderr so far (the first run's admin password, warnings). */
  stderr(): string;
  /** SIGTERM, and wait for it to exit. */
  stop(): Promise<void>;
}

const started: ChildProcess[] = [];
/** Kills every server still running (SIGKILL): call it in `afterAll`. */
export function killServers(): void {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/**
 * `firebrick serve` from source, as the other CLI tests run it, with only `env` (and PATH) in its
 * environment and a free port; resolves once `/healthz` answers.
 */
export async function serve(env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "serve"], {
    env: { PATH: process.env.PATH, FIREBRICK_LOG_LEVEL: "warn", ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`firebrick serve exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`firebrick serve did not start: ${stderr}`);
    try {
      if ((await call(url, "GET", "/healthz", { timeoutMs: 1000 })).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The first run's generated admin password, from what the server printed. */
export function firstRunPassword(server: ServeProcess): string {
  const match = /Password \(shown once[^)]*\): (\S+)/.exec(server.stderr());
  if (!match) throw new Error(`no first-run password printed: ${server.stderr()}`);
  return match[1]!;
}

/** Polls `probe` until it returns something other than undefined, failing after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = "the condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `count` servers started like `serve(envOf(i))` that share their stores (one Firestore project, or one
 * data dir): the first alone (it creates the demo tenant and its admin), the others together; then the
 * admin signed in through the first. Returns the servers, the first run's password and the session.
 */
export async function startFleet(
  count: number,
  envOf: (index: number) => Record<string, string>,
): Promise<{ servers: ServeProcess[]; password: string; session: string }> {
  const servers = [await serve(envOf(0))];
  const password = firstRunPassword(servers[0]!);
  servers.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => serve(envOf(i + 1))))));
  const login = await call(servers[0]!.url, "POST", "/api/auth/login", {
    tenant: "demo",
    body: { username: "admin", password },
  });
  expect(login.status).toBe(200);
  return { servers, password, session: login.session! };
}
