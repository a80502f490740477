import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./testing/server.js";

// `inject` comes from 127.0.0.1, as a load balancer on the same host would.
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(env: Record<string, string> = {}) {
  const started = await startTestServer(env);
  servers.push(started);
  const { server, adminPassword: password } = started;
  const login = (username: string, secret: string, forwardedFor?: string) =>
    server.app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers: { "x-bas-tenant": "demo", ...(forwardedFor && { "x-forwarded-for": forwardedFor }) },
      payload: { username, password: secret },
    });
  const lastLoginIp = async (cookie: string, forwardedFor?: string) => {
    const audit = await server.app.inject({
      method: "GET",
      url: "/api/audit?action=auth.login&limit=1",
      headers: { "x-bas-tenant": "demo", cookie, ...(forwardedFor && { "x-forwarded-for": forwardedFor }) },
    });
    expect(audit.statusCode).toBe(200);
    return (audit.json() as { entries: Array<{ ip: string | null }> }).entries[0]?.ip;
  };
  const cookieOf = (response: { headers: Record<string, unknown> }) =>
    String(response.headers["set-cookie"]).split(";", 1)[0]!;
  return { server, password, login, lastLoginIp, cookieOf };
}

describe("FIREBRICK_TRUST_PROXY: the client address behind a load balancer", () => {
  it("by default ignores X-Forwarded-For: a client cannot pick the address it is limited and audited by", async () => {
    const { password, login, lastLoginIp, cookieOf } = await serve();
    const signedIn = await login("admin", password, "203.0.113.7");
    expect(signedIn.statusCode).toBe(200);
    expect(await lastLoginIp(cookieOf(signedIn))).toBe("127.0.0.1");

    // 20 failures a window per address: forged forwarding headers do not buy a fresh allowance.
    for (let i = 0; i < 20; i++)
      expect((await login(`nobody${i}`, "wrong", `198.51.100.${i}`)).statusCode).toBe(401);
    expect((await login("nobody-else", "wrong", "192.0.2.1")).statusCode).toBe(429);
  });

  it("with the proxy's range trusted, takes the nearest untrusted address of X-Forwarded-For as the client", async () => {
    const { server, password, login, lastLoginIp, cookieOf } = await serve({
      FIREBRICK_TRUST_PROXY: "loopback",
    });
    // The client put 198.51.100.1 there itself; the proxy appended the address it saw, 203.0.113.7.
    const signedIn = await login("admin", password, "198.51.100.1, 203.0.113.7");
    expect(signedIn.statusCode).toBe(200);
    // The session is bound to that client: the same client behind the proxy reads on with it.
    expect(await lastLoginIp(cookieOf(signedIn), "203.0.113.7")).toBe("203.0.113.7");
    // …and a copy of the cookie used by a client on another network behind the same proxy is refused.
    const stolen = await login("admin", password, "203.0.113.7");
    const replay = await server.app.inject({
      method: "GET",
      url: "/api/auth/me",
      headers: { "x-bas-tenant": "demo", cookie: cookieOf(stolen), "x-forwarded-for": "198.51.100.77" },
    });
    expect(replay.statusCode).toBe(401);

    // The per-IP limit now counts each client behind the proxy on its own.
    for (let i = 0; i < 20; i++)
      expect((await login(`nobody${i}`, "wrong", "203.0.113.8")).statusCode).toBe(401);
    expect((await login("nobody-else", "wrong", "203.0.113.8")).statusCode).toBe(429);
    expect((await login("nobody-else", "wrong", "203.0.113.9")).statusCode).toBe(401);
  });
});
