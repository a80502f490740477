// Malformed and edge input on every endpoint, on both stores (docs/design/testing.md): whatever a client
// sends, the answer is a JSON error with a code from the catalogue, never a 5xx, never a stack trace.
//
// Each run starts from the endpoint's valid call (its tenant, an admin session, a target of the right
// kind, its body and query) and, most of the time, replaces one part of it with something hostile; the
// rest of the time every part is arbitrary. A valid call with one bad part reaches the code behind
// validation (the stores), which is where the 500s were: Firestore's reserved `__…__` field names, query
// numbers past 2^53 (`to=1e21`), strings that are not well-formed Unicode.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN_LIMITS } from "./auth/login-limits.js";
import { ERRORS } from "./errors.js";
import { ENDPOINTS, type Endpoint, freshTarget, label, namedPath } from "./testing/endpoints.js";
import { BACKENDS, PASSWORD, startTestService, type TestService } from "./testing/service.js";

/** `RELIABILITY_PROFILE=full` (`npm run test:reliability`-style runs) fuzzes much longer than `npm test`. */
const RUNS = process.env.RELIABILITY_PROFILE === "full" ? 400 : 40;

const text = (maxLength = 40) => fc.string({ unit: "grapheme-ascii", maxLength });

/** Whole numbers a JavaScript number cannot hold exactly, as a query string carries them. */
const UNSAFE_INTEGERS = [
  "99999999999999999999",
  "9007199254740993",
  "9007199254740992",
  "-9007199254740993",
  "1e21",
  "1e308",
] as const;
/** Other numbers as a careless client writes them. */
const ODD_NUMBERS = ["-1", "-0", "0", "1.5", "NaN", "Infinity", "", "0x10", " 7", "1e3"] as const;

/** Strings that are valid JSON but not what a store takes, by kind: each kind as likely as the others. */
const EDGE_STRINGS = [
  ["\ud800", "a\udc00b", "\udfff\ud800"], // unpaired surrogates
  ["\u0000", "\u202e\u0041", "\ufeff", "\u0007"], // controls and invisible marks
  ["e\u0301", "👩‍🔧", "\u{10ffff}", "ﬀ"], // combining, joined, the last code point, compatibility forms
  ["__x__", "__name__", "__.__"], // Firestore's reserved field names
  ["..", "%00", "a".repeat(1600), ""], // paths, escapes, lengths
] as const;

const edgeString = () =>
  fc.oneof(
    ...EDGE_STRINGS.map((kind) => fc.constantFrom(...kind)),
    fc.string({ unit: "binary", maxLength: 12 }),
    text(),
  );

const edgeNumber = () =>
  fc.oneof(
    fc.constantFrom(1e308, -1e308, -0, 5e-324, 2 ** 53 + 2, -(2 ** 53) - 2, 1e21, 0.5),
    fc.double(),
    fc.integer(),
  );

/** A query value: unsafe integers above all, odd numbers and strings too. */
const edgeQueryValue = () =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...UNSAFE_INTEGERS), weight: 3 },
    { arbitrary: fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String), weight: 1 },
    { arbitrary: fc.constantFrom(...ODD_NUMBERS), weight: 2 },
    { arbitrary: edgeString(), weight: 1 },
  );

/** Percent-encodes like a client, lone surrogates as the invalid UTF-8 a client would send for them. */
const encode = (value: string) =>
  [...value].map((c) => (/[\uD800-\uDFFF]/u.test(c) ? "%ED%A0%80" : encodeURIComponent(c))).join("");

const NUMERIC_KEYS = ["limit", "from", "to"] as const;
const OTHER_KEYS = ["cursor", "user_id", "action", "x", "__proto__", ""] as const;
const queryKey = () =>
  fc.oneof({ arbitrary: fc.constantFrom(...NUMERIC_KEYS), weight: 3 }, fc.constantFrom(...OTHER_KEYS));
const pair = (key: string, value: string) => `${encode(key)}=${encode(value)}`;

/**
 * The endpoint's own query with one more parameter, mostly; otherwise several, keys possibly empty or
 * repeated, and raw fragments no encoder would write.
 */
const edgeQuery = (base: string | undefined) =>
  fc.oneof(
    {
      arbitrary: fc
        .tuple(queryKey(), edgeQueryValue())
        .map(([key, value]) => [...(base ? [base] : []), pair(key, value)].join("&")),
      weight: 4,
    },
    {
      arbitrary: fc
        .tuple(
          fc.boolean(),
          fc.array(fc.tuple(queryKey(), edgeQueryValue()), { minLength: 1, maxLength: 4 }),
          fc.option(fc.constantFrom("%", "%zz", "==", "&&&", "limit", "limit=&limit=", "a[b]=1"), {
            nil: undefined,
          }),
        )
        .map(([keepBase, pairs, raw]) =>
          [
            ...(keepBase && base ? [base] : []),
            ...pairs.map(([key, value]) => pair(key, value)),
            ...(raw ? [raw] : []),
          ].join("&"),
        ),
      weight: 1,
    },
  );

/** A metric name: Firestore's reserved ones above all. */
const edgeMetricName = () =>
  fc.oneof(
    { arbitrary: fc.constantFrom("__x__", "__name__", "__.__", "____x__"), weight: 3 },
    {
      arbitrary: fc.constantFrom("zone_temp_c", "a".repeat(64), "a".repeat(65), "-x", "a.b", "é"),
      weight: 1,
    },
    { arbitrary: edgeString(), weight: 1 },
  );

const FIELDS = [
  "username",
  "password",
  "role",
  "name",
  "points",
  "telemetry",
  "audit",
  "auth",
  "telemetry_dual_write",
  "current_password",
  "new_password",
  "metrics",
  "timestamp_ms",
] as const;

describe.each(BACKENDS)("malformed and edge input on every endpoint (%s)", (backend) => {
  let service: TestService;
  /** Per operation, the error responses the OpenAPI document lists: status → its description (the codes). */
  let documented: (endpoint: (typeof ENDPOINTS)[number]) => Record<string, { description: string }>;
  beforeAll(async () => {
    // Failed logins from the fuzzer must not lock the harness's own logins out.
    service = await startTestService(backend, {
      deviceWritesPerMinute: 100_000,
      loginLimits: {
        ...LOGIN_LIMITS,
        perUsernameAndAddress: 1_000_000,
        perAddress: 1_000_000,
        slowDownAfter: 1_000_000,
      },
    });
    const document = (
      await service.request({ method: "GET", url: "/api/openapi.json", tenant: null })
    ).json();
    documented = (endpoint) =>
      document.paths[endpoint.path.replace(/:(\w+)/g, "{$1}")][endpoint.method.toLowerCase()].responses;
  }, 60_000);
  afterAll(() => service?.close());

  /** A point the store would take, but for the part the fuzzer changed. */
  const edgePoints = () =>
    fc
      .record({
        timestamp_ms: fc.oneof(
          { arbitrary: fc.constant(service.clock.now), weight: 3 },
          { arbitrary: edgeNumber(), weight: 1 },
        ),
        metrics: fc.oneof(
          {
            arbitrary: fc.dictionary(edgeMetricName(), fc.constant(21.5), { minKeys: 1, maxKeys: 3 }),
            weight: 3,
          },
          { arbitrary: fc.dictionary(fc.constant("zone_temp_c"), edgeNumber(), { minKeys: 1 }), weight: 1 },
        ),
      })
      .map((point) => ({ points: [point] }));

  /** A body: the endpoint's own with one field made hostile, or arbitrary JSON, or not JSON at all. */
  const edgeBody = (endpoint: Endpoint) => {
    const valid = () => (endpoint.body ? (endpoint.body(service) as Record<string, unknown>) : {});
    const own = Object.keys(valid());
    const ownFields = own.length > 0 ? own : FIELDS;
    return fc.oneof(
      {
        // One field of the body made hostile: above all one the endpoint reads.
        arbitrary: fc
          .tuple(
            fc.oneof({ arbitrary: fc.constantFrom(...ownFields), weight: 4 }, fc.constantFrom(...FIELDS)),
            fc.oneof({ arbitrary: edgeString(), weight: 3 }, edgeNumber(), fc.jsonValue()),
          )
          .map(([field, value]) => JSON.stringify({ ...valid(), [field]: value })),
        weight: 4,
      },
      { arbitrary: edgePoints().map((points) => JSON.stringify(points)), weight: 3 },
      { arbitrary: fc.jsonValue({ stringUnit: "binary" }).map((value) => JSON.stringify(value)), weight: 1 },
      { arbitrary: text(80), weight: 1 },
    );
  };

  const edgeTenant = () => fc.oneof(fc.constant("t2"), text(70), edgeString());
  const edgeContentType = () =>
    fc.constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/json; charset=utf-16",
      "",
    );
  const edgeCredential = () => fc.constantFrom("device", "garbage", "none");

  // These end the session they are called with; the others keep one session for the whole run.
  const REVOKING = new Set(["POST /api/auth/logout", "DELETE /api/auth/sessions", "POST /api/auth/password"]);

  it.each(ENDPOINTS.map((e) => [label(e), e] as const))(
    "%s: always a JSON error with a catalogue code, never a 5xx",
    async (_name, endpoint) => {
      let admin = await service.login("t1", "admin");
      // Destructive calls act on a target of their own, so that the fixtures outlive them.
      const destructive = endpoint.method === "DELETE" || endpoint.path.endsWith("/token");
      const target =
        endpoint.target === undefined
          ? undefined
          : destructive
            ? await freshTarget(service, "t1", endpoint.target)
            : endpoint.target === "device"
              ? service.t1.device.id
              : service.t1.users.viewer.id;
      const isBodyless = endpoint.method === "GET" || endpoint.method === "DELETE";
      // One part made hostile, weighted towards what the endpoint reads: the query of a GET, the body of a write.
      const part = fc.oneof(
        { arbitrary: fc.constant("query" as const), weight: isBodyless ? 6 : 1 },
        { arbitrary: fc.constant("body" as const), weight: isBodyless ? 0 : 6 },
        { arbitrary: fc.constantFrom("id", "tenant", "credential", "contentType", "all"), weight: 2 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            part,
            id: fc.oneof(
              fc.constant(service.t1.users.viewer.id),
              fc.constant(service.t2.device.id),
              fc.uuid(),
              edgeString(),
            ),
            body: edgeBody(endpoint),
            query: edgeQuery(endpoint.query),
            tenant: edgeTenant(),
            contentType: edgeContentType(),
            credential: edgeCredential(),
            garbage: text(100),
          }),
          async (input) => {
            if (REVOKING.has(label(endpoint))) admin = await service.login("t1", "admin");
            const hostile = (name: string) => input.part === name || input.part === "all";
            const id = hostile("id") ? input.id : target;
            const named = namedPath(endpoint);
            const path = id === undefined ? named : named.replace(":id", encode(id));
            const query = hostile("query") ? input.query : (endpoint.query ?? "");
            const credential = hostile("credential") ? input.credential : "admin";
            const headers: Record<string, string> = {
              "x-bas-tenant": hostile("tenant") ? input.tenant : "t1",
            };
            if (!isBodyless) {
              headers["content-type"] = hostile("contentType") ? input.contentType : "application/json";
            }
            if (!headers["content-type"]) delete headers["content-type"];
            if (credential === "admin") headers.cookie = `firebrick_session=${admin}`;
            if (credential === "device") headers.authorization = `Bearer ${service.t1.deviceToken}`;
            if (credential === "garbage") {
              headers.cookie = `firebrick_session=${input.garbage}`;
              headers.authorization = `Bearer ${input.garbage}`;
            }
            const validBody = JSON.stringify(endpoint.body ? endpoint.body(service) : {});
            const response = await service.app.inject({
              method: endpoint.method,
              url: query ? `${path}?${query}` : path,
              headers,
              ...(!isBodyless && { payload: hostile("body") ? input.body : validBody }),
            });
            expect(
              response.statusCode,
              `${endpoint.method} ${path}?${query} → ${response.body}`,
            ).toBeLessThan(500);
            // A password changed by the call is put back, so that the next runs can sign in.
            if (label(endpoint) === "POST /api/auth/password" && response.statusCode === 200) {
              const stored = await service.passwords.hash(PASSWORD);
              await service.router.stores.users.updatePassword("t1", service.t1.users.admin.id, stored);
            }
            if (response.statusCode >= 400) {
              const error = response.json().error;
              expect(Object.keys(ERRORS)).toContain(error.code);
              expect(error.request_id).toEqual(expect.any(String));
              expect(response.body).not.toMatch(/\n\s+at /);
              // The OpenAPI document is honest: it lists this status with this code for this operation.
              expect(
                documented(endpoint)[String(response.statusCode)]?.description,
                `${endpoint.method} ${path}: ${response.statusCode} ${error.code} documented`,
              ).toContain(`\`${error.code}\``);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    120_000,
  );

  it("is still serving after the fuzzing", async () => {
    expect((await service.request({ method: "GET", url: "/healthz", tenant: null })).statusCode).toBe(200);
  });
});
