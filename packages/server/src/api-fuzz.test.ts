import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN_LIMITS } from "./auth/login-limits.js";
import { ERRORS } from "./errors.js";
import { ENDPOINT_METRIC, ENDPOINTS, label } from "./testing/endpoints.js";
import { BACKENDS, startTestService, type TestService } from "./testing/service.js";

const RUNS = 25;
const text = (maxLength = 40) => fc.string({ unit: "grapheme-ascii", maxLength });

describe.each(BACKENDS)("malformed input on every endpoint (%s)", (backend) => {
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
      document.paths[endpoint.path.replace(":id", "{id}").replace(":metric", "{metric}")][
        endpoint.method.toLowerCase()
      ].responses;
  }, 60_000);
  afterAll(() => service?.close());

  // Rotating the fixture device's token would turn every later device-token request into a 401.
  const id = (endpoint: (typeof ENDPOINTS)[number], scratchDevice: string) =>
    fc.oneof(
      {
        arbitrary: fc.constant(endpoint.path.endsWith("/token") ? scratchDevice : service.t1.device.id),
        weight: 3,
      },
      fc.constant(service.t1.users.viewer.id),
      fc.constant(service.t2.device.id),
      fc.uuid(),
      text(60),
    );
  const body = (endpoint: (typeof ENDPOINTS)[number]) =>
    fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      // Near-valid: the right field names with arbitrary values.
      fc
        .dictionary(
          fc.constantFrom(
            "username",
            "password",
            "role",
            "name",
            "points",
            "telemetry",
            "auth",
            "current_password",
            "new_password",
            "metrics",
            "timestamp_ms",
          ),
          fc.jsonValue(),
        )
        .map((v) => JSON.stringify(v)),
      fc.constant(endpoint.body ? JSON.stringify(endpoint.body(service)) : "{}"),
      text(80),
    );
  const query = () =>
    fc
      .dictionary(
        fc.constantFrom("limit", "cursor", "from", "to", "user_id", "action", "x", "__proto__"),
        text(30),
        { maxKeys: 4 },
      )
      .map((entries) => new URLSearchParams(entries).toString());
  const tenant = () => fc.oneof({ arbitrary: fc.constant("t1"), weight: 4 }, fc.constant("t2"), text(70));
  // These end the session they are called with; the others keep one session for the whole run.
  const REVOKING = new Set(["POST /api/auth/logout", "DELETE /api/auth/sessions", "POST /api/auth/password"]);
  const contentType = () =>
    fc.constantFrom(
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/json; charset=utf-16",
      "",
    );

  it.each(ENDPOINTS.map((e) => [label(e), e] as const))(
    "%s: always a JSON error with a catalogue code, never a 5xx",
    async (_name, endpoint) => {
      let admin = await service.login("t1", "admin");
      const scratchDevice = (
        await service.router.stores.devices.create("t1", { name: "fuzz", token_hash: "0".repeat(64) })
      ).id;
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            id: id(endpoint, scratchDevice),
            body: body(endpoint),
            query: query(),
            tenant: tenant(),
            contentType: contentType(),
            credential: fc.oneof(
              { arbitrary: fc.constant("admin"), weight: 5 },
              fc.constantFrom("device", "garbage", "none"),
            ),
            garbage: text(100),
          }),
          async (input) => {
            if (REVOKING.has(label(endpoint))) admin = await service.login("t1", "admin");
            const path = endpoint.path
              .replace(":metric", ENDPOINT_METRIC)
              .replace(":id", encodeURIComponent(input.id));
            const headers: Record<string, string> = { "x-bas-tenant": input.tenant };
            if (input.contentType) headers["content-type"] = input.contentType;
            if (input.credential === "admin") headers.cookie = `firebrick_session=${admin}`;
            if (input.credential === "device") headers.authorization = `Bearer ${service.t1.deviceToken}`;
            if (input.credential === "garbage") {
              headers.cookie = `firebrick_session=${input.garbage}`;
              headers.authorization = `Bearer ${input.garbage}`;
            }
            const response = await service.app.inject({
              method: endpoint.method,
              url: input.query ? `${path}?${input.query}` : path,
              headers,
              ...(endpoint.method !== "GET" && endpoint.method !== "DELETE" && { payload: input.body }),
            });
            expect(response.statusCode, `${endpoint.method} ${path} → ${response.body}`).toBeLessThan(500);
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
    60_000,
  );

  it("is still serving after the fuzzing", async () => {
    expect((await service.request({ method: "GET", url: "/healthz", tenant: null })).statusCode).toBe(200);
  });
});
