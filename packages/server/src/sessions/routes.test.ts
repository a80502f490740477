import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, PASSWORD, startTestService, type TestService } from "../testing/service.js";

describe.each(BACKENDS)("a user's sessions, seen by an admin and by the user (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  beforeAll(async () => {
    service = await startTestService(backend);
    admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  /** A fresh user of t1 (so that tests do not end each other's sessions), and its id. */
  async function newUser(username: string) {
    const response = await service.request({
      method: "POST",
      url: "/api/users",
      tenant: "t1",
      session: admin,
      payload: { username, password: PASSWORD, role: "operator" },
    });
    return response.json().user.id as string;
  }
  const call = (method: "GET" | "DELETE", url: string, session = admin) =>
    service.request({ method, url, tenant: "t1", session });
  const signedIn = async (session: string) => (await call("GET", "/api/auth/me", session)).statusCode === 200;
  const audited = async (action: string, target: string) =>
    (await service.router.stores.audit.query("t1", { action, limit: 100 })).items.filter(
      (entry) => entry.target === target,
    );

  it("lists a user's sessions for an admin: when each began and was last used, the client and address, never the token", async () => {
    const id = await newUser("lister");
    const first = await service.login("t1", "lister");
    await service.login("t1", "lister");
    const response = await call("GET", `/api/users/${id}/sessions`);
    expect(response.statusCode).toBe(200);
    const { sessions } = response.json();
    expect(sessions).toHaveLength(2);
    for (const session of sessions) {
      expect(session).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{16}$/),
        current: false,
        created_at: expect.any(Number),
        last_seen_at: expect.any(Number),
        expires_at: expect.any(Number),
        user_agent: "lightMyRequest",
        ip: "127.0.0.1",
      });
    }
    expect(response.body).not.toContain(first);
    // The admin's own list marks the session the request came with.
    const own = (await call("GET", `/api/users/${service.t1.users.admin.id}/sessions`)).json().sessions;
    expect(own.filter((session: { current: boolean }) => session.current)).toHaveLength(1);
  });

  it("ends one session of a user, leaving the others, audited; ending it again answers revoked: false", async () => {
    const id = await newUser("one-of-two");
    const kept = await service.login("t1", "one-of-two");
    const ended = await service.login("t1", "one-of-two");
    expect((await call("GET", `/api/users/${id}/sessions`)).json().sessions).toHaveLength(2);
    // The user's own list says which reference is the session `ended`.
    const mine = (await call("GET", "/api/auth/sessions", ended)).json().sessions as {
      id: string;
      current: boolean;
    }[];
    const ref = mine.find((session) => session.current)!.id;

    const response = await call("DELETE", `/api/users/${id}/sessions/${ref}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ revoked: true });
    expect(await signedIn(ended)).toBe(false);
    expect(await signedIn(kept)).toBe(true);
    expect(await audited("session.revoke", `user:${id}`)).toEqual([
      expect.objectContaining({
        user_id: service.t1.users.admin.id,
        details: expect.objectContaining({ session: ref }),
        outcome: "success",
      }),
    ]);
    expect((await call("DELETE", `/api/users/${id}/sessions/${ref}`)).json()).toEqual({ revoked: false });
    expect(await audited("session.revoke", `user:${id}`)).toHaveLength(1);
  });

  it("signs a user out everywhere, audited with the count", async () => {
    const id = await newUser("everywhere");
    const sessions = [await service.login("t1", "everywhere"), await service.login("t1", "everywhere")];
    const response = await call("DELETE", `/api/users/${id}/sessions`);
    expect(response.json()).toEqual({ revoked: 2 });
    for (const session of sessions) expect(await signedIn(session)).toBe(false);
    expect(await audited("session.revoke_all", `user:${id}`)).toEqual([
      expect.objectContaining({
        user_id: service.t1.users.admin.id,
        details: expect.objectContaining({ revoked: 2 }),
      }),
    ]);
    expect(await signedIn(admin)).toBe(true);
  });

  it("lets every user end one of their own sessions; ending the current one signs them out", async () => {
    await newUser("self-service");
    const laptop = await service.login("t1", "self-service");
    const phone = await service.login("t1", "self-service");
    const list = (await call("GET", "/api/auth/sessions", laptop)).json().sessions as {
      id: string;
      current: boolean;
    }[];
    const other = list.find((session) => !session.current)!.id;
    expect((await call("DELETE", `/api/auth/sessions/${other}`, laptop)).json()).toEqual({ revoked: true });
    expect(await signedIn(phone)).toBe(false);
    expect(await signedIn(laptop)).toBe(true);
    const current = list.find((session) => session.current)!.id;
    const signOut = await call("DELETE", `/api/auth/sessions/${current}`, laptop);
    expect(signOut.json()).toEqual({ revoked: true });
    expect(signOut.headers["set-cookie"]).toEqual(expect.stringContaining("firebrick_session=;"));
    expect(await signedIn(laptop)).toBe(false);
  });

  it("cannot reach another user's session through the caller's own list", async () => {
    const id = await newUser("bystander");
    const theirs = await service.login("t1", "bystander");
    const ref = (await call("GET", `/api/users/${id}/sessions`)).json().sessions[0].id;
    const viewer = await service.login("t1", "viewer");
    expect((await call("DELETE", `/api/auth/sessions/${ref}`, viewer)).json()).toEqual({ revoked: false });
    expect(await signedIn(theirs)).toBe(true);
  });

  it("refuses a malformed session reference with 400 VALIDATION_FAILED", async () => {
    const response = await call("DELETE", `/api/users/${service.t1.users.viewer.id}/sessions/not-a-session`);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("VALIDATION_FAILED");
  });
});
