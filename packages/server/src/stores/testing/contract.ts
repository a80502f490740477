import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIT_RETENTION_MS,
  type Clock,
  InvalidCursorError,
  type NewUser,
  type Session,
  StoreConflictError,
  type Stores,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
} from "../types.js";
import type { StoreBackend, UsageTally } from "../usage.js";

/** A store implementation under test, plus a look at how it stores TTL fields. */
export interface ContractHarness {
  stores: Stores;
  tally: UsageTally;
  /** The stored retention time (epoch ms) of a row, read straight from the database, or undefined. */
  storedExpiry: {
    telemetry(tenant: string, deviceId: string, timestampMs: number): Promise<number | undefined>;
    audit(tenant: string, entryId: string): Promise<number | undefined>;
    session(id: string): Promise<number | undefined>;
  };
  /**
   * Runs the store's background upkeep to completion at the harness clock, as its jobs would (SQLite:
   * the retention job's targets, rollup compaction included); absent where the contract needs none.
   */
  upkeep?(): Promise<void>;
  close(): Promise<void>;
}

export type MakeStores = (clock: Clock) => Promise<ContractHarness>;

// 00:30 UTC on the day Europe moves its clocks forward (01:00 UTC, 29 March 2026).
export const T0 = Date.UTC(2026, 2, 29, 0, 30, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ARGON2 = { algorithm: "argon2id", m: 65536, t: 3, p: 1 };

const sessionId = () => randomBytes(32).toString("hex");
const newUser = (username: string, extra: Partial<NewUser> = {}): NewUser => ({
  username,
  role: "viewer",
  password_hash: `$argon2id$v=19$m=65536,t=3,p=1$${randomBytes(8).toString("base64")}$hash`,
  algo_params: ARGON2,
  ...extra,
});
/**
 * The Firestore harness's `writeTimeMarginMs` (`TelemetryStore.changes`): short, so that a test can wait
 * it out in real time, since write times are Firestore's clock, not the suite's.
 */
export const CHANGES_MARGIN_MS = 150;

/** What a cache of `capacity` points holding `held` (newest first) holds after a `changes` answer. */
function apply(
  held: TelemetryPoint[],
  answer: { points: TelemetryPoint[]; reset: boolean },
  capacity = 100,
): TelemetryPoint[] {
  const byTime = new Map((answer.reset ? [] : held).map((p) => [p.timestamp_ms, p]));
  for (const point of answer.points) byTime.set(point.timestamp_ms, point);
  return [...byTime.values()].sort((a, b) => b.timestamp_ms - a.timestamp_ms).slice(0, capacity);
}

/** UTF-8 byte order, the order both Firestore and SQLite sort strings in. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * One harness per describe block, with its own controllable clock: on Firestore that is a fresh
 * project, so cross-tenant operations (the sweeper) see only this block's documents.
 */
export function useHarness(makeStores: MakeStores) {
  const state = { now: T0, harness: undefined as ContractHarness | undefined };
  let tenants = 0;
  beforeAll(async () => {
    state.harness = await makeStores(() => state.now);
  });
  afterAll(async () => {
    await state.harness?.close();
  });
  return {
    get stores() {
      return state.harness!.stores;
    },
    get tally() {
      return state.harness!.tally;
    },
    get storedExpiry() {
      return state.harness!.storedExpiry;
    },
    setNow(now: number) {
      state.now = now;
    },
    /** The store's background upkeep (`ContractHarness.upkeep`), if it has any. */
    async upkeep() {
      await state.harness!.upkeep?.();
    },
    /** A tenant id no other test in this block uses. */
    tenant(label = "t") {
      tenants += 1;
      return `${label}${tenants}-${randomBytes(3).toString("hex")}`;
    },
    /** Resets the tally, runs `work`, and returns what it billed: rollups apart (`rollups`), not in the totals. */
    async billed<T>(work: () => Promise<T>) {
      const tally = state.harness!.tally;
      tally.reset();
      const result = await work();
      const rollups = { reads: 0, writes: 0 };
      for (const [key, usage] of tally.byArea) {
        if (!key.endsWith(":rollups")) continue;
        rollups.reads += usage.reads;
        rollups.writes += usage.writes;
      }
      return { result, reads: tally.reads - rollups.reads, writes: tally.writes - rollups.writes, rollups };
    },
  };
}

/**
 * The behaviour every store implementation must have (docs/design/stores.md), run once per backend.
 *
 * @example
 * describeStoresContract("SQLite stores", "sqlite", async (clock) => ({ stores: createSqliteStores(db, { clock, usage: tally }), … }));
 */
export function describeStoresContract(name: string, backend: StoreBackend, makeStores: MakeStores): void {
  describe(name, () => {
    describe("TenantsStore", () => {
      const h = useHarness(makeStores);

      it("creates a tenant, reads it back and lists tenants in id order", async () => {
        const created = await h.stores.tenants.create({ id: "beta", name: "Beta Corp" });
        await h.stores.tenants.create({ id: "alpha" });
        expect(created).toEqual({
          id: "beta",
          name: "Beta Corp",
          created_at: T0,
          time_zone: "UTC",
          time_zone_since: 0,
        });
        expect(await h.stores.tenants.get("beta")).toEqual(created);
        expect(await h.stores.tenants.get("alpha")).toMatchObject({ id: "alpha", name: "alpha" });
        expect((await h.stores.tenants.list()).map((tenant) => tenant.id)).toEqual(["alpha", "beta"]);
      });

      it("refuses a tenant id that exists", async () => {
        await h.stores.tenants.create({ id: "gamma" });
        await expect(h.stores.tenants.create({ id: "gamma", name: "again" })).rejects.toBeInstanceOf(
          StoreConflictError,
        );
        expect((await h.stores.tenants.get("gamma"))?.name).toBe("gamma");
      });

      it("bills one read for a missing tenant and one write for a creation", async () => {
        expect(await h.billed(() => h.stores.tenants.get("nobody"))).toMatchObject({
          result: null,
          reads: 1,
          writes: 0,
        });
        expect(await h.billed(() => h.stores.tenants.create({ id: "delta" }))).toMatchObject({
          reads: 0,
          writes: 1,
        });
      });

      it("refuses a tenant id that cannot be a document id", async () => {
        await expect(h.stores.tenants.create({ id: "a/b" })).rejects.toBeInstanceOf(RangeError);
        expect(await h.stores.tenants.get("a/b")).toBeNull();
      });
    });

    describe("UsersStore", () => {
      const h = useHarness(makeStores);

      it("creates a user with a generated UUIDv4 id and reads back every field", async () => {
        const tenant = h.tenant();
        const created = await h.stores.users.create(tenant, newUser("Alice", { role: "admin" }));
        expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(created).toMatchObject({
          tenant_id: tenant,
          username: "Alice",
          role: "admin",
          algo_params: ARGON2,
          needs_rehash: false,
          created_at: T0,
          updated_at: T0,
        });
        expect(await h.stores.users.get(tenant, created.id)).toEqual(created);
        expect(await h.stores.users.getByUsername(tenant, "Alice")).toEqual(created);
      });

      it("keeps usernames unique per tenant regardless of case and Unicode normalisation", async () => {
        const tenant = h.tenant();
        await h.stores.users.create(tenant, newUser("Alice"));
        await expect(h.stores.users.create(tenant, newUser("ALICE"))).rejects.toBeInstanceOf(
          StoreConflictError,
        );
        await h.stores.users.create(tenant, newUser("Zo\u00eb")); // composed ë
        await expect(h.stores.users.create(tenant, newUser("zoe\u0308"))).rejects.toBeInstanceOf(
          StoreConflictError,
        ); // decomposed
        expect((await h.stores.users.list(tenant)).items.map((user) => user.username)).toEqual([
          "Alice",
          "Zo\u00eb",
        ]);
      });

      it("lets two tenants have the same username, each finding only its own", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const inA = await h.stores.users.create(a, newUser("ops"));
        expect(await h.stores.users.getByUsername(b, "ops")).toBeNull();
        const inB = await h.stores.users.create(b, newUser("OPS"));
        expect((await h.stores.users.getByUsername(a, "Ops"))?.id).toBe(inA.id);
        expect((await h.stores.users.getByUsername(b, "ops"))?.id).toBe(inB.id);
        expect((await h.stores.users.list(a)).items.map((user) => user.id)).toEqual([inA.id]);
      });

      it("accepts a username with characters a document id cannot hold", async () => {
        const tenant = h.tenant();
        for (const username of ["a/b", "..", "__x__", "x".repeat(600)]) {
          const user = await h.stores.users.create(tenant, newUser(username));
          expect((await h.stores.users.getByUsername(tenant, username))?.id).toBe(user.id);
        }
        await expect(h.stores.users.create(tenant, newUser("A/B"))).rejects.toBeInstanceOf(
          StoreConflictError,
        );
      });

      it("keeps an explicit id and refuses an id that is taken, in any tenant", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const id = randomUUID();
        expect((await h.stores.users.create(a, newUser("legacy", { id, needs_rehash: true }))).id).toBe(id);
        expect((await h.stores.users.get(a, id))?.needs_rehash).toBe(true);
        await expect(h.stores.users.create(a, newUser("other", { id }))).rejects.toBeInstanceOf(
          StoreConflictError,
        );
        await expect(h.stores.users.create(b, newUser("legacy", { id }))).rejects.toBeInstanceOf(
          StoreConflictError,
        );
        // A refused creation leaves no username behind.
        expect(await h.stores.users.getByUsername(a, "other")).toBeNull();
        expect(await h.stores.users.getByUsername(b, "legacy")).toBeNull();
        await expect(h.stores.users.create(a, newUser("bad", { id: "not-a-uuid" }))).rejects.toBeInstanceOf(
          RangeError,
        );
      });

      it("lets exactly one of concurrent creations of one username succeed", async () => {
        const tenant = h.tenant();
        const outcomes = await Promise.allSettled(
          ["carol", "Carol", "CAROL"].map((username) => h.stores.users.create(tenant, newUser(username))),
        );
        expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(StoreConflictError);
        }
        expect((await h.stores.users.list(tenant)).items).toHaveLength(1);
      });

      it("never reads, changes or deletes another tenant's user by id", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const user = await h.stores.users.create(a, newUser("dave", { role: "viewer" }));
        expect(await h.stores.users.get(b, user.id)).toBeNull();
        expect(await h.stores.users.ownership(b, user.id)).toBe("other_tenant");
        expect(await h.stores.users.ownership(a, user.id)).toBe("owned");
        expect(await h.stores.users.ownership(a, randomUUID())).toBe("missing");
        expect(await h.stores.users.updateRole(b, user.id, "admin")).toBeNull();
        expect(
          await h.stores.users.updatePassword(b, user.id, {
            password_hash: "$argon2id$stolen",
            algo_params: ARGON2,
            needs_rehash: false,
          }),
        ).toBeNull();
        expect(await h.stores.users.delete(b, user.id)).toBe(false);
        expect(await h.stores.users.get(a, user.id)).toEqual(user);
      });

      it("updates role and password, moving updated_at", async () => {
        const tenant = h.tenant();
        const user = await h.stores.users.create(tenant, newUser("erin", { needs_rehash: true }));
        h.setNow(T0 + HOUR);
        const promoted = await h.stores.users.updateRole(tenant, user.id, "operator");
        expect(promoted).toEqual({ ...user, role: "operator", updated_at: T0 + HOUR });
        h.setNow(T0 + 2 * HOUR);
        const password = {
          password_hash: "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$new",
          algo_params: ARGON2,
          needs_rehash: false,
        };
        const rehashed = await h.stores.users.updatePassword(tenant, user.id, password);
        expect(rehashed).toEqual({ ...user, ...password, role: "operator", updated_at: T0 + 2 * HOUR });
        expect(await h.stores.users.get(tenant, user.id)).toEqual(rehashed);
        expect(await h.stores.users.updateRole(tenant, randomUUID(), "admin")).toBeNull();
        h.setNow(T0);
      });

      it("deletes a user and frees the username", async () => {
        const tenant = h.tenant();
        const user = await h.stores.users.create(tenant, newUser("Frank"));
        expect(await h.stores.users.delete(tenant, user.id)).toBe(true);
        expect(await h.stores.users.delete(tenant, user.id)).toBe(false);
        expect(await h.stores.users.get(tenant, user.id)).toBeNull();
        expect(await h.stores.users.getByUsername(tenant, "frank")).toBeNull();
        const again = await h.stores.users.create(tenant, newUser("frank"));
        expect((await h.stores.users.getByUsername(tenant, "FRANK"))?.id).toBe(again.id);
      });

      it("lists a tenant's users in username order, page by page, without gaps or duplicates", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const names = Array.from({ length: 11 }, (_, i) => `user${String(i).padStart(2, "0")}`);
        for (const name of [...names].reverse()) await h.stores.users.create(a, newUser(name));
        await h.stores.users.create(b, newUser("user00"));
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Stores["users"]["list"]>> = await h.stores.users.list(a, {
            limit: 4,
            cursor,
          });
          seen.push(...page.items.map((user) => user.username));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toEqual(names);
        await expect(h.stores.users.list(a, { cursor: "bm9wZQ" })).rejects.toBeInstanceOf(InvalidCursorError);
      });

      it("bills one read for a username lookup, found or not, and its writes for a creation", async () => {
        const tenant = h.tenant();
        const created = await h.billed(() => h.stores.users.create(tenant, newUser("grace")));
        // Firestore writes the user and its username guard; SQLite one row with a unique index.
        expect(created).toMatchObject({ reads: 0, writes: backend === "firestore" ? 2 : 1 });
        expect(await h.billed(() => h.stores.users.getByUsername(tenant, "grace"))).toMatchObject({
          reads: 1,
        });
        expect(await h.billed(() => h.stores.users.getByUsername(tenant, "nobody"))).toMatchObject({
          result: null,
          reads: 1,
        });
        expect(
          await h.billed(() => h.stores.users.updateRole(tenant, created.result.id, "admin")),
        ).toMatchObject({
          reads: 1,
          writes: 1,
        });
      });
    });

    describe("SessionsStore", () => {
      const h = useHarness(makeStores);
      const session = (tenant: string, userId: string, extra: Partial<Session> = {}): Session => ({
        id: sessionId(),
        tenant_id: tenant,
        user_id: userId,
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0 + 12 * HOUR,
        fingerprint: "firefox|203.0.113.0/24",
        user_agent: "Mozilla/5.0 Firefox/140.0",
        ip: "203.0.113.7",
        ...extra,
      });

      it("finds a session in its tenant; another tenant gets other_tenant and no row", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const created = session(a, randomUUID());
        await h.stores.sessions.create(created);
        expect(await h.stores.sessions.find(a, created.id)).toEqual({ status: "found", session: created });
        expect(await h.stores.sessions.find(b, created.id)).toEqual({ status: "other_tenant" });
        expect(await h.stores.sessions.find(a, sessionId())).toEqual({ status: "missing" });
        expect(await h.stores.sessions.find(a, "../x")).toEqual({ status: "missing" });
        await expect(h.stores.sessions.create(created)).rejects.toBeInstanceOf(StoreConflictError);
      });

      it("reports a session past its absolute expiry as missing, before anything deletes it", async () => {
        const tenant = h.tenant();
        const created = session(tenant, randomUUID(), { expires_at: T0 + HOUR });
        await h.stores.sessions.create(created);
        h.setNow(T0 + HOUR - 1);
        expect((await h.stores.sessions.find(tenant, created.id)).status).toBe("found");
        h.setNow(T0 + HOUR);
        expect(await h.stores.sessions.find(tenant, created.id)).toEqual({ status: "missing" });
        expect(await h.stores.sessions.listByUser(tenant, created.user_id)).toEqual([]);
        expect(await h.storedExpiry.session(created.id)).toBe(T0 + HOUR);
        h.setNow(T0);
      });

      it("moves the idle clock with one write after a lookup, and only in the session's tenant", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const created = session(a, randomUUID());
        await h.stores.sessions.create(created);
        await h.stores.sessions.find(a, created.id);
        expect(await h.billed(() => h.stores.sessions.touch(a, created.id, T0 + MINUTE))).toMatchObject({
          reads: 0,
          writes: 1,
        });
        await h.stores.sessions.touch(b, created.id, T0 + 2 * MINUTE);
        const found = await h.stores.sessions.find(a, created.id);
        expect(found.status === "found" && found.session.last_seen_at).toBe(T0 + MINUTE);
        await h.stores.sessions.touch(a, sessionId(), T0 + MINUTE); // missing: no error
      });

      it("lists a user's live sessions in its tenant, newest first", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const userId = randomUUID();
        const older = session(a, userId);
        const newer = session(a, userId, { created_at: T0 + MINUTE });
        const expired = session(a, userId, { expires_at: T0 });
        for (const s of [older, newer, expired, session(b, userId), session(a, randomUUID())]) {
          await h.stores.sessions.create(s);
        }
        expect((await h.stores.sessions.listByUser(a, userId)).map((s) => s.id)).toEqual([
          newer.id,
          older.id,
        ]);
      });

      it("deletes a session only in its own tenant", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const created = session(a, randomUUID());
        await h.stores.sessions.create(created);
        expect(await h.stores.sessions.delete(b, created.id)).toBe(false);
        expect((await h.stores.sessions.find(a, created.id)).status).toBe("found");
        expect(await h.stores.sessions.delete(a, created.id)).toBe(true);
        expect(await h.stores.sessions.find(a, created.id)).toEqual({ status: "missing" });
        expect(await h.stores.sessions.delete(a, created.id)).toBe(false);
      });

      it("revokes all of a user's sessions but the one kept, never another tenant's", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const userId = randomUUID();
        const [keep, drop1, drop2] = [session(a, userId), session(a, userId), session(a, userId)];
        const elsewhere = session(b, userId);
        for (const s of [keep, drop1, drop2, elsewhere]) await h.stores.sessions.create(s);
        expect(await h.stores.sessions.deleteAllForUser(a, userId, { exceptId: keep.id })).toBe(2);
        expect((await h.stores.sessions.listByUser(a, userId)).map((s) => s.id)).toEqual([keep.id]);
        expect((await h.stores.sessions.find(b, elsewhere.id)).status).toBe("found");
        expect(await h.stores.sessions.deleteAllForUser(a, userId)).toBe(1);
      });
    });

    describe("SessionsStore sweeper", () => {
      const h = useHarness(makeStores);

      it("deletes absolutely and idly expired sessions of every tenant, up to the limit, keeping live ones", async () => {
        const make = (tenant: string, lastSeen: number, expires: number): Session => ({
          id: sessionId(),
          tenant_id: tenant,
          user_id: randomUUID(),
          created_at: T0 - 12 * HOUR,
          last_seen_at: lastSeen,
          expires_at: expires,
          fingerprint: "f",
          user_agent: null,
          ip: null,
        });
        const idle = 30 * MINUTE;
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const live = [make(a, T0 - idle + 1, T0 + HOUR), make(b, T0, T0 + 1)];
        const dead = [
          make(a, T0, T0), // absolute expiry reached
          make(b, T0 - idle, T0 + HOUR), // idle exactly the timeout
          make(b, T0 - 2 * idle, T0 - 1), // both
        ];
        for (const s of [...live, ...dead]) await h.stores.sessions.create(s);
        expect(await h.stores.sessions.deleteExpired(T0, { idleTimeoutMs: idle, limit: 2 })).toBe(2);
        expect(await h.stores.sessions.deleteExpired(T0, { idleTimeoutMs: idle, limit: 100 })).toBe(1);
        expect(await h.stores.sessions.deleteExpired(T0, { idleTimeoutMs: idle, limit: 100 })).toBe(0);
        for (const s of live) expect((await h.stores.sessions.find(s.tenant_id, s.id)).status).toBe("found");
        for (const s of dead) expect(await h.storedExpiry.session(s.id)).toBeUndefined();
      });

      it("revokes every session of every tenant at once", async () => {
        await h.stores.sessions.deleteAll(); // what earlier tests in this block left
        const tenants = [h.tenant("a"), h.tenant("b")];
        const ids: string[] = [];
        for (const tenant of tenants) {
          for (let i = 0; i < 3; i++) {
            const id = sessionId();
            ids.push(id);
            await h.stores.sessions.create({
              id,
              tenant_id: tenant,
              user_id: randomUUID(),
              created_at: T0,
              last_seen_at: T0,
              expires_at: T0 + HOUR,
              fingerprint: "f",
              user_agent: null,
              ip: null,
            });
          }
        }
        expect(await h.stores.sessions.deleteAll()).toBe(6);
        for (const id of ids) expect(await h.storedExpiry.session(id)).toBeUndefined();
        expect(await h.stores.sessions.deleteAll()).toBe(0);
      });
    });

    describe("DevicesStore", () => {
      const h = useHarness(makeStores);

      it("creates a device with a generated id and reads it back", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "AHU-1", token_hash: "a".repeat(64) });
        expect(device).toMatchObject({
          tenant_id: tenant,
          name: "AHU-1",
          created_at: T0,
          token_rotated_at: T0,
        });
        expect(await h.stores.devices.get(tenant, device.id)).toEqual(device);
        await expect(
          h.stores.devices.create(h.tenant(), { id: device.id, name: "copy", token_hash: "b".repeat(64) }),
        ).rejects.toBeInstanceOf(StoreConflictError);
      });

      it("rotates the token hash and records when", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "VAV-2", token_hash: "a".repeat(64) });
        h.setNow(T0 + DAY);
        const rotated = await h.stores.devices.setTokenHash(tenant, device.id, "c".repeat(64));
        expect(rotated).toEqual({ ...device, token_hash: "c".repeat(64), token_rotated_at: T0 + DAY });
        expect(await h.stores.devices.get(tenant, device.id)).toEqual(rotated);
        h.setNow(T0);
      });

      it("never reads, rotates or deletes another tenant's device", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const device = await h.stores.devices.create(a, { name: "Boiler", token_hash: "a".repeat(64) });
        expect(await h.stores.devices.get(b, device.id)).toBeNull();
        expect(await h.stores.devices.ownership(b, device.id)).toBe("other_tenant");
        expect(await h.stores.devices.ownership(a, device.id)).toBe("owned");
        expect(await h.stores.devices.ownership(a, randomUUID())).toBe("missing");
        expect(await h.stores.devices.ownership(a, "a/b")).toBe("missing");
        expect(await h.stores.devices.setTokenHash(b, device.id, "d".repeat(64))).toBeNull();
        expect(await h.stores.devices.delete(b, device.id)).toBe(false);
        expect((await h.stores.devices.list(b)).items).toEqual([]);
        expect(await h.stores.devices.get(a, device.id)).toEqual(device);
        expect(await h.stores.devices.delete(a, device.id)).toBe(true);
        expect(await h.stores.devices.get(a, device.id)).toBeNull();
      });

      it("lists a tenant's devices by name, ties by id, page by page without gaps or duplicates", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const created = [];
        for (const name of ["Chiller", "AHU", "AHU", "Boiler", "AHU", "Zone 9", "Zone 10"]) {
          created.push(await h.stores.devices.create(a, { name, token_hash: "e".repeat(64) }));
        }
        await h.stores.devices.create(b, { name: "AHU", token_hash: "e".repeat(64) });
        const expected = [...created]
          .sort((x, y) => byteOrder(x.name, y.name) || byteOrder(x.id, y.id))
          .map((device) => device.id);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Stores["devices"]["list"]>> = await h.stores.devices.list(a, {
            limit: 2,
            cursor,
          });
          seen.push(...page.items.map((device) => device.id));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toEqual(expected);
      });
    });

    describe("DevicesStore: location, point definitions, connectivity", () => {
      const h = useHarness(makeStores);
      const temperature = {
        name: "Supply air",
        unit: "°C",
        kind: "number" as const,
        min: 5,
        max: 40,
        labels: null,
      };
      const mode = {
        name: "Mode",
        unit: null,
        kind: "enum" as const,
        min: null,
        max: null,
        labels: { "0": "off", "1": "heat", "-1": "cool" },
      };

      it("creates a device with no location, no point definitions, never seen", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "AHU-1", token_hash: "a".repeat(64) });
        expect(device).toMatchObject({
          location: { site: null, building: null, floor: null, zone: null },
          points: {},
          last_seen_ms: null,
        });
        expect(await h.stores.devices.get(tenant, device.id)).toEqual(device);
      });

      it("updates name, location and point definitions in one read and one write, and reads them back", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "AHU-1", token_hash: "a".repeat(64) });
        const location = { site: "HQ", building: "Building A", floor: "L2", zone: null };
        // Metric names with the characters the metric-name rule allows.
        const points = { "ahu.1/supply:temp_c": temperature, "mode-1": mode };
        const { result, reads, writes } = await h.billed(() =>
          h.stores.devices.update(tenant, device.id, (current) => {
            expect(current).toEqual(device);
            return { name: "AHU-1 (roof)", location, points };
          }),
        );
        expect({ reads, writes }).toEqual({ reads: 1, writes: 1 });
        const expected = { ...device, name: "AHU-1 (roof)", location, points };
        expect(result).toEqual(expected);
        expect(await h.stores.devices.get(tenant, device.id)).toEqual(expected);
        expect((await h.stores.devices.list(tenant)).items).toEqual([expected]);

        // A change names only what it replaces: the points map replaced whole drops a definition.
        const { "mode-1": _dropped, ...remaining } = points;
        const next = await h.stores.devices.update(tenant, device.id, () => ({ points: remaining }));
        expect(next).toEqual({ ...expected, points: remaining });
        expect(await h.stores.devices.get(tenant, device.id)).toEqual({ ...expected, points: remaining });
      });

      it("writes nothing when the change is null or throws, and passes the error through", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "VAV-7", token_hash: "a".repeat(64) });
        const unchanged = await h.billed(() => h.stores.devices.update(tenant, device.id, () => null));
        expect(unchanged).toMatchObject({ result: device, reads: 1, writes: 0 });
        class Refused extends Error {}
        await expect(
          h.stores.devices.update(tenant, device.id, () => {
            throw new Refused("too many points");
          }),
        ).rejects.toBeInstanceOf(Refused);
        expect(await h.stores.devices.get(tenant, device.id)).toEqual(device);
      });

      it("never updates another tenant's device, nor a missing one", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const device = await h.stores.devices.create(a, { name: "Boiler", token_hash: "a".repeat(64) });
        let called = false;
        const change = () => {
          called = true;
          return { name: "stolen" };
        };
        expect(await h.stores.devices.update(b, device.id, change)).toBeNull();
        expect(await h.stores.devices.update(a, randomUUID(), change)).toBeNull();
        expect(await h.stores.devices.update(a, "not-a-uuid", change)).toBeNull();
        expect(called).toBe(false);
        expect(await h.stores.devices.get(a, device.id)).toEqual(device);
      });

      it("records last_seen_ms with one write and no read; the last write wins", async () => {
        const tenant = h.tenant();
        const device = await h.stores.devices.create(tenant, { name: "FCU-3", token_hash: "a".repeat(64) });
        const seen = await h.billed(() => h.stores.devices.recordSeen(tenant, device.id, T0 + MINUTE));
        expect({ reads: seen.reads, writes: seen.writes }).toEqual({ reads: 0, writes: 1 });
        expect((await h.stores.devices.get(tenant, device.id))?.last_seen_ms).toBe(T0 + MINUTE);
        await h.stores.devices.recordSeen(tenant, device.id, T0 + 2 * MINUTE);
        const read = await h.stores.devices.get(tenant, device.id);
        expect(read).toEqual({ ...device, last_seen_ms: T0 + 2 * MINUTE });
        // Editing the device keeps it; rotating the token too.
        await h.stores.devices.update(tenant, device.id, () => ({ name: "FCU-3b" }));
        await h.stores.devices.setTokenHash(tenant, device.id, "b".repeat(64));
        expect((await h.stores.devices.get(tenant, device.id))?.last_seen_ms).toBe(T0 + 2 * MINUTE);
        expect((await h.stores.devices.list(tenant)).items[0]?.last_seen_ms).toBe(T0 + 2 * MINUTE);
      });

      it("never records last_seen_ms on another tenant's device, and brings no deleted device back", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const device = await h.stores.devices.create(a, { name: "Chiller", token_hash: "a".repeat(64) });
        await h.stores.devices.recordSeen(a, device.id, T0);
        await h.stores.devices.recordSeen(b, device.id, T0 + HOUR);
        expect(await h.stores.devices.get(a, device.id)).toEqual({ ...device, last_seen_ms: T0 });
        expect(await h.stores.devices.get(b, device.id)).toBeNull();

        expect(await h.stores.devices.delete(a, device.id)).toBe(true);
        await h.stores.devices.recordSeen(a, device.id, T0 + HOUR);
        await h.stores.devices.recordSeen(a, randomUUID(), T0 + HOUR);
        await h.stores.devices.recordSeen(a, "not-a-uuid", T0 + HOUR);
        expect(await h.stores.devices.ownership(a, device.id)).toBe("missing");
        expect((await h.stores.devices.list(a)).items).toEqual([]);
      });
    });

    describe("TelemetryStore", () => {
      const h = useHarness(makeStores);
      const points = (count: number, start = T0 - count * MINUTE, step = MINUTE) =>
        Array.from({ length: count }, (_, i) => ({
          timestamp_ms: start + i * step,
          metrics: { zone_temp_c: 20 + (i % 10) / 10, co2_ppm: 400 + i },
        }));

      it("returns the newest N points newest first, billing one read per point returned", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        const written = await h.billed(() => h.stores.telemetry.append(tenant, device, points(150)));
        expect(written).toMatchObject({ result: { written: 150 }, reads: 0, writes: 150 });
        const latest = await h.billed(() => h.stores.telemetry.latest(tenant, device, 100));
        expect(latest.reads).toBe(100);
        expect(latest.result).toHaveLength(100);
        expect(latest.result[0]).toEqual({
          tenant_id: tenant,
          device_id: device,
          timestamp_ms: T0 - MINUTE,
          metrics: { zone_temp_c: 20.9, co2_ppm: 549 },
          source: "api",
        });
        const times = latest.result.map((point) => point.timestamp_ms);
        expect(times).toEqual([...times].sort((x, y) => y - x));
        expect(times.at(-1)).toBe(T0 - 100 * MINUTE);
      });

      it("bills one read for a query that finds nothing", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        expect(await h.billed(() => h.stores.telemetry.latest(tenant, device, 100))).toMatchObject({
          result: [],
          reads: 1,
          writes: 0,
        });
        expect(
          await h.billed(() => h.stores.telemetry.window(tenant, device, { from: 0, to: T0, limit: 10 })),
        ).toMatchObject({ reads: 1, result: { items: [], next_cursor: null } });
        expect(await h.billed(() => h.stores.telemetry.changes(tenant, device, null, 100))).toMatchObject({
          reads: 1,
          result: { points: [], reset: true },
        });
      });

      it("overwrites a point written again instead of duplicating it; the last of equal timestamps wins", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, points(5));
        const rewrite = await h.stores.telemetry.append(tenant, device, [
          { timestamp_ms: T0 - 5 * MINUTE, metrics: { zone_temp_c: 1 }, source: "sqlite_backfill" },
          { timestamp_ms: T0 - 5 * MINUTE, metrics: { zone_temp_c: 2 }, source: "sqlite_backfill" },
        ]);
        expect(rewrite.written).toBe(1);
        const latest = await h.stores.telemetry.latest(tenant, device, 10);
        expect(latest).toHaveLength(5);
        expect(latest.at(-1)).toMatchObject({ metrics: { zone_temp_c: 2 }, source: "sqlite_backfill" });
      });

      it("refuses a metric that is not a finite number, writing nothing", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(
            h.stores.telemetry.append(tenant, device, [
              { timestamp_ms: T0 - 2, metrics: { ok: 1 } },
              { timestamp_ms: T0 - 1, metrics: { bad } },
            ]),
          ).rejects.toBeInstanceOf(RangeError);
        }
        await expect(
          h.stores.telemetry.append(tenant, device, [{ timestamp_ms: 1.5, metrics: {} }]),
        ).rejects.toBeInstanceOf(RangeError);
        expect(await h.stores.telemetry.latest(tenant, device, 10)).toEqual([]);
      });

      it("keeps two tenants' points apart even for the same device id and timestamps", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        const device = randomUUID();
        await h.stores.telemetry.append(a, device, [{ timestamp_ms: T0 - 1, metrics: { owner_a: 1 } }]);
        await h.stores.telemetry.append(b, device, [{ timestamp_ms: T0 - 1, metrics: { owner_b: 1 } }]);
        await h.stores.telemetry.append(b, device, [{ timestamp_ms: T0 - 2, metrics: { owner_b: 2 } }]);
        expect((await h.stores.telemetry.latest(a, device, 10)).map((p) => p.metrics)).toEqual([
          { owner_a: 1 },
        ]);
        const windowA = await h.stores.telemetry.window(a, device, { from: 0, to: T0, limit: 10 });
        expect(windowA.items.map((p) => p.tenant_id)).toEqual([a]);
        expect((await h.stores.telemetry.changes(a, device, null, 10)).points.map((p) => p.metrics)).toEqual([
          { owner_a: 1 },
        ]);
        expect((await h.stores.telemetry.latest(b, device, 10)).map((p) => p.metrics)).toEqual([
          { owner_b: 1 },
          { owner_b: 2 },
        ]);
      });

      it("returns a window that includes `from` and excludes `to`", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, points(10, T0 - 10 * MINUTE));
        const page = await h.stores.telemetry.window(tenant, device, {
          from: T0 - 8 * MINUTE,
          to: T0 - 3 * MINUTE,
          limit: 100,
        });
        expect(page.items.map((p) => (T0 - p.timestamp_ms) / MINUTE)).toEqual([4, 5, 6, 7, 8]);
        expect(page.next_cursor).toBeNull();
        const empty = await h.stores.telemetry.window(tenant, device, { from: T0, to: T0, limit: 10 });
        expect(empty.items).toEqual([]);
      });

      it("pages through 260 points with no gap and no duplicate, billing each page's points", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        const all = points(260, T0 - 260 * 1000, 1000);
        await h.stores.telemetry.append(tenant, device, all);
        const seen: number[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const { result: page, reads } = await h.billed(() =>
            h.stores.telemetry.window(tenant, device, { from: T0 - 1 * DAY, to: T0, limit: 50, cursor }),
          );
          expect(reads).toBe(Math.max(1, page.items.length));
          seen.push(...page.items.map((p) => p.timestamp_ms));
          cursor = page.next_cursor;
          pages += 1;
        } while (cursor);
        expect(pages).toBe(6);
        expect(seen).toEqual(all.map((p) => p.timestamp_ms).reverse());
      });

      it("refuses a cursor that was tampered with or belongs to another device", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, points(3));
        const query = { from: 0, to: T0, limit: 2 };
        const { next_cursor } = await h.stores.telemetry.window(tenant, device, query);
        expect(next_cursor).not.toBeNull();
        const forged = JSON.parse(Buffer.from(next_cursor!, "base64url").toString());
        forged.t -= 1;
        for (const cursor of [
          "garbage!",
          Buffer.from(JSON.stringify(forged)).toString("base64url"),
          Buffer.from(JSON.stringify({ k: "audit", t: 1, id: "x" })).toString("base64url"),
        ]) {
          await expect(
            h.stores.telemetry.window(tenant, device, { ...query, cursor }),
          ).rejects.toBeInstanceOf(InvalidCursorError);
        }
        await expect(
          h.stores.telemetry.window(tenant, randomUUID(), { ...query, cursor: next_cursor }),
        ).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(
          h.stores.telemetry.window(h.tenant(), device, { ...query, cursor: next_cursor }),
        ).rejects.toBeInstanceOf(InvalidCursorError);
      });

      it("stops returning points 90 days after their event time, before anything deletes them", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, [
          { timestamp_ms: T0 - 2 * MINUTE, metrics: { v: 1 } },
          { timestamp_ms: T0 - MINUTE, metrics: { v: 2 } },
        ]);
        expect(await h.storedExpiry.telemetry(tenant, device, T0 - MINUTE)).toBe(
          T0 - MINUTE + TELEMETRY_RETENTION_MS,
        );
        h.setNow(T0 - MINUTE + TELEMETRY_RETENTION_MS - 1);
        expect((await h.stores.telemetry.latest(tenant, device, 10)).map((p) => p.metrics.v)).toEqual([2]);
        expect(
          (await h.stores.telemetry.window(tenant, device, { from: 0, to: T0, limit: 10 })).items.map(
            (p) => p.metrics.v,
          ),
        ).toEqual([2]);
        expect(
          (await h.stores.telemetry.changes(tenant, device, null, 10)).points.map((p) => p.metrics.v),
        ).toEqual([2]);
        h.setNow(T0 - MINUTE + TELEMETRY_RETENTION_MS);
        expect(await h.stores.telemetry.latest(tenant, device, 10)).toEqual([]);
        expect(
          (await h.stores.telemetry.window(tenant, device, { from: 0, to: T0, limit: 10 })).items,
        ).toEqual([]);
        expect((await h.stores.telemetry.changes(tenant, device, null, 10)).points).toEqual([]);
        h.setNow(T0);
      });

      it("tells what was written since a mark, by any writer: new points, a late point and an overwrite", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, points(10, T0 - 10 * MINUTE));
        const first = await h.stores.telemetry.changes(tenant, device, null, 100);
        expect(first.reset).toBe(true);
        expect(first.points.map((p) => (T0 - p.timestamp_ms) / MINUTE)).toEqual([
          1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
        // Another writer (another instance): a new point, a point older than all held, and a rewrite.
        await h.stores.telemetry.append(tenant, device, [
          { timestamp_ms: T0 - 30 * MINUTE, metrics: { late: 1 } },
          { timestamp_ms: T0 - 5 * MINUTE, metrics: { rewritten: 1 } },
          { timestamp_ms: T0 - 30 * 1000, metrics: { newest: 1 } },
        ]);
        const next = await h.stores.telemetry.changes(tenant, device, first.mark, 100);
        const held = apply(first.points, next);
        expect(held).toEqual(await h.stores.telemetry.latest(tenant, device, 100));
        expect(held.find((p) => p.timestamp_ms === T0 - 5 * MINUTE)?.metrics).toEqual({ rewritten: 1 });
        expect(held.at(-1)?.metrics).toEqual({ late: 1 });
      });

      it("bills at most one read when nothing was written since the mark, and answers the newest points after too many changes", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        await h.stores.telemetry.append(tenant, device, points(3, T0 - 3 * MINUTE));
        // What was written just before a read may be read once more (Firestore's write time is a
        // little before the commit): let that moment pass.
        await new Promise((resolve) => setTimeout(resolve, CHANGES_MARGIN_MS * 2));
        const first = await h.stores.telemetry.changes(tenant, device, null, 5);
        const idle = await h.billed(() => h.stores.telemetry.changes(tenant, device, first.mark, 5));
        expect(idle.reads).toBeLessThanOrEqual(1);
        expect(idle.result.points).toEqual([]);
        await h.stores.telemetry.append(tenant, device, points(8, T0 - 30 * 1000, 1000));
        const flood = await h.stores.telemetry.changes(tenant, device, idle.result.mark, 5);
        expect(flood.reset).toBe(true);
        expect(flood.points).toEqual(await h.stores.telemetry.latest(tenant, device, 5));
        // Another tenant's writes to the same device id never show in this tenant's changes.
        await h.stores.telemetry.append(h.tenant("other"), device, points(2, T0 - 10 * 1000, 1000));
        const after = await h.stores.telemetry.changes(tenant, device, flood.mark, 5);
        expect(apply(flood.points, after, 5).map((p) => p.tenant_id)).toEqual(Array(5).fill(tenant));
      });

      it("keeps UTC epoch milliseconds exactly, ordered across a daylight-saving change", async () => {
        const tenant = h.tenant();
        const device = randomUUID();
        // 00:59:59.999 and 01:00:00.000 UTC straddle the European change; 1 ms apart, in order.
        const change = Date.UTC(2026, 2, 29, 1, 0, 0);
        const times = [change - 1, change, change + HOUR, Date.UTC(2026, 9, 25, 1, 0, 0)];
        await h.stores.telemetry.append(
          tenant,
          device,
          times.map((t) => ({ timestamp_ms: t, metrics: { t } })),
        );
        h.setNow(change + DAY);
        const page = await h.stores.telemetry.window(tenant, device, {
          from: change - 1,
          to: change + HOUR + 1,
          limit: 10,
        });
        expect(page.items.map((p) => p.timestamp_ms)).toEqual([change + HOUR, change, change - 1]);
        expect(page.items.every((p) => p.metrics.t === p.timestamp_ms)).toBe(true);
        expect((await h.stores.telemetry.latest(tenant, device, 1))[0]?.timestamp_ms).toBe(
          Date.UTC(2026, 9, 25, 1, 0, 0),
        );
        h.setNow(T0);
      });
    });

    describe("AuditLogStore", () => {
      const h = useHarness(makeStores);
      const entry = (action: string, userId: string | null, timestampMs: number, extra = {}) => ({
        action,
        user_id: userId,
        timestamp_ms: timestampMs,
        outcome: "success" as const,
        ...extra,
      });

      it("appends an entry with defaults filled and returns entries newest first", async () => {
        const tenant = h.tenant();
        const first = await h.billed(() => h.stores.audit.append(tenant, entry("auth.login", "u1", T0 - 2)));
        expect(first.writes).toBe(1);
        expect(first.result).toEqual({
          id: expect.any(String),
          tenant_id: tenant,
          action: "auth.login",
          user_id: "u1",
          timestamp_ms: T0 - 2,
          outcome: "success",
          target: null,
          ip: null,
          user_agent: null,
          details: {},
          source: "app",
        });
        const second = await h.stores.audit.append(
          tenant,
          entry("tenant.violation", null, T0 - 1, {
            outcome: "denied",
            target: "device:d1",
            ip: "198.51.100.4",
            user_agent: "curl/8",
            details: { header: "other", nested: { n: 1 } },
          }),
        );
        const page = await h.stores.audit.query(tenant, { limit: 10 });
        expect(page).toEqual({ items: [second, first.result], next_cursor: null });
      });

      it("filters by user, by action, and by both", async () => {
        const tenant = h.tenant();
        await h.stores.audit.append(tenant, entry("auth.login", "u1", T0 - 4));
        await h.stores.audit.append(tenant, entry("auth.login_failed", "u1", T0 - 3));
        await h.stores.audit.append(tenant, entry("auth.login", "u2", T0 - 2));
        await h.stores.audit.append(tenant, entry("auth.login", "u1", T0 - 1));
        const times = async (filter: { user_id?: string; action?: string }) =>
          (await h.stores.audit.query(tenant, { ...filter, limit: 10 })).items.map(
            (e) => T0 - e.timestamp_ms,
          );
        expect(await times({ user_id: "u1" })).toEqual([1, 3, 4]);
        expect(await times({ action: "auth.login" })).toEqual([1, 2, 4]);
        expect(await times({ user_id: "u1", action: "auth.login" })).toEqual([1, 4]);
        expect(await times({ user_id: "u3" })).toEqual([]);
      });

      it("treats re-appending an explicit id as done, keeping the first entry", async () => {
        const tenant = h.tenant();
        await h.stores.audit.append(
          tenant,
          entry("auth.login", "u1", T0 - 5, { id: "legacy-42", source: "sqlite_backfill" }),
        );
        const again = await h.billed(() =>
          h.stores.audit.append(
            tenant,
            entry("auth.logout", "u1", T0 - 5, { id: "legacy-42", source: "sqlite_backfill" }),
          ),
        );
        expect(again.writes).toBe(0);
        const items = (await h.stores.audit.query(tenant, { limit: 10 })).items;
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({ id: "legacy-42", action: "auth.login", source: "sqlite_backfill" });
      });

      it("keeps two tenants' entries apart even with the same ids", async () => {
        const [a, b] = [h.tenant("a"), h.tenant("b")];
        await h.stores.audit.append(a, entry("a.action", "u1", T0 - 1, { id: "e/1" }));
        await h.stores.audit.append(b, entry("b.action", "u1", T0 - 1, { id: "e/1" }));
        expect(
          (await h.stores.audit.query(a, { user_id: "u1", limit: 10 })).items.map((e) => e.action),
        ).toEqual(["a.action"]);
        expect((await h.stores.audit.query(b, { limit: 10 })).items.map((e) => e.action)).toEqual([
          "b.action",
        ]);
      });

      it("pages newest first through entries sharing timestamps, without gaps or duplicates", async () => {
        const tenant = h.tenant();
        const ids = new Set<string>();
        for (let i = 0; i < 23; i++) {
          ids.add((await h.stores.audit.append(tenant, entry("flags.update", "u1", T0 - 1000 * (i % 4)))).id);
        }
        const seen: { id: string; t: number }[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Stores["audit"]["query"]>> = await h.stores.audit.query(tenant, {
            action: "flags.update",
            limit: 5,
            cursor,
          });
          seen.push(...page.items.map((e) => ({ id: e.id, t: e.timestamp_ms })));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toHaveLength(23);
        expect(new Set(seen.map((e) => e.id))).toEqual(ids);
        const times = seen.map((e) => e.t);
        expect(times).toEqual([...times].sort((x, y) => y - x));
        await expect(h.stores.audit.query(tenant, { limit: 5, cursor: "e30" })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
      });

      it("stops returning entries 180 days after their event time", async () => {
        const tenant = h.tenant();
        const kept = await h.stores.audit.append(tenant, entry("auth.login", "u1", T0));
        expect(await h.storedExpiry.audit(tenant, kept.id)).toBe(T0 + AUDIT_RETENTION_MS);
        h.setNow(T0 + AUDIT_RETENTION_MS - 1);
        expect((await h.stores.audit.query(tenant, { limit: 10 })).items).toHaveLength(1);
        h.setNow(T0 + AUDIT_RETENTION_MS);
        expect(await h.billed(() => h.stores.audit.query(tenant, { limit: 10 }))).toMatchObject({
          result: { items: [], next_cursor: null },
          reads: 1,
        });
        h.setNow(T0);
      });

      it("offers no way to change or remove an entry", () => {
        const methods = Object.keys(h.stores.audit).sort();
        expect(methods).toEqual(["append", "query"]);
      });
    });
  });
}
