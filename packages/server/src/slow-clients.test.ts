// Slow clients (issue 15, item 2) through a real port: a request whose body has not arrived within the
// bound is answered 408 and closed, a cap on open connections holds, and other clients keep being
// served meanwhile. The bound is configurable; these tests use a short one (FIREBRICK_REQUEST_TIMEOUT_MS).
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call } from "../../../test/reliability/support.js";
import { startTestServer, type TestServer } from "./testing/server.js";

const REQUEST_TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 16;

interface SlowClient {
  socket: Socket;
  /** Everything the server sent back. */
  received: () => string;
  closed: () => boolean;
}

/** A login whose body announces 100 kB and then trickles in a byte every 200 ms, as the attack did. */
function slowLogin(url: string): Promise<SlowClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = "";
    let closed = false;
    const socket = connect(Number(port), hostname);
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(" ");
    }, 200);
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      clearInterval(trickle);
    });
    socket.once("connect", () => {
      socket.write(
        "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nX-BAS-Tenant: demo\r\n" +
          'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"username":"admin",',
      );
      resolve({ socket, received: () => received, closed: () => closed });
    });
    socket.once("error", reject);
  });
}

/** Whether the server closes a fresh connection at once, before it could send anything. */
function closedOnArrival(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.on("error", () => resolve(true));
    socket.on("close", () => resolve(true));
    // A request it answers means the connection was accepted.
    socket.once("connect", () => socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    socket.once("data", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe("slow clients on a real port", () => {
  let server: TestServer;
  const clients: SlowClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({
      FIREBRICK_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      FIREBRICK_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    });
  });
  afterAll(async () => {
    for (const client of clients) client.socket.destroy();
    await server?.close();
  });

  it("answers a body that has not arrived within the bound with 408 REQUEST_TIMEOUT and closes the connection, serving others meanwhile", async () => {
    const slow = await Promise.all(Array.from({ length: 8 }, () => slowLogin(server.url)));
    clients.push(...slow);
    // Others are served while the slow ones trickle.
    expect((await call(server.url, "GET", "/healthz")).status).toBe(200);
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: "demo",
      body: { username: "admin", password: server.adminPassword },
    });
    expect(login.status).toBe(200);
    // Waits for the condition; without a request timeout the slow clients stay open and this times out.
    await vi.waitFor(() => expect(slow.every((client) => client.closed())).toBe(true), {
      timeout: 20_000,
      interval: 100,
    });
    for (const client of slow) {
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      const body = JSON.parse(client.received().split("\r\n\r\n")[1]!);
      expect(body.error).toEqual({
        code: "REQUEST_TIMEOUT",
        message: expect.any(String),
        request_id: expect.any(String),
      });
    }
  }, 30_000);

  it("closes connections past the configured cap as they arrive, and serves again once slow ones are cut", async () => {
    const slow = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => slowLogin(server.url)));
    clients.push(...slow);
    expect(await closedOnArrival(server.url)).toBe(true);
    await vi.waitFor(() => expect(slow.every((client) => client.closed())).toBe(true), {
      timeout: 20_000,
      interval: 100,
    });
    expect((await call(server.url, "GET", "/healthz")).status).toBe(200);
  }, 30_000);
});
