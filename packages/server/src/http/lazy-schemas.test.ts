import Fastify, { type FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { lazySchemaCompilers } from "./lazy-schemas.js";

/** One route with a body, a query, params and a response schema, on Fastify's compilers or the lazy ones. */
async function appWith(lazy: boolean): Promise<FastifyInstance> {
  const app = Fastify({
    ajv: { customOptions: { removeAdditional: false } },
    ...(lazy && { schemaController: { compilersFactory: lazySchemaCompilers() } }),
  });
  app.post(
    "/things/:id",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] },
        querystring: {
          type: "object",
          properties: { dry: { type: "boolean" } },
          additionalProperties: false,
        },
        body: {
          type: "object",
          properties: { name: { type: "string", minLength: 1 }, count: { type: "integer", minimum: 0 } },
          required: ["name"],
          additionalProperties: false,
        },
        response: {
          200: { type: "object", properties: { id: { type: "integer" }, name: { type: "string" } } },
        },
      },
    },
    // The extra field is what a response schema drops.
    async (request) => ({
      ...(request.body as object),
      id: (request.params as { id: number }).id,
      secret: "x",
    }),
  );
  await app.ready();
  return app;
}

const requests = [
  { url: "/things/7", payload: { name: "fan", count: 2 } },
  { url: "/things/7?dry=true", payload: { name: "fan" } },
  { url: "/things/seven", payload: { name: "fan" } },
  { url: "/things/7?dry=maybe", payload: { name: "fan" } },
  { url: "/things/7?other=1", payload: { name: "fan" } },
  { url: "/things/7", payload: { name: "" } },
  { url: "/things/7", payload: { name: "fan", count: -1 } },
  { url: "/things/7", payload: { name: "fan", extra: true } },
  { url: "/things/7", payload: {} },
];

describe("schemas compiled on a route's first request", () => {
  it("validate and serialize exactly as Fastify's own compilers do, on the first request and after", async () => {
    const eager = await appWith(false);
    const lazy = await appWith(true);
    for (const round of [1, 2]) {
      for (const request of requests) {
        const [want, got] = await Promise.all(
          [eager, lazy].map((app) => app.inject({ method: "POST", ...request })),
        );
        expect({ round, ...request, status: got!.statusCode, body: got!.json() }).toEqual({
          round,
          ...request,
          status: want!.statusCode,
          body: want!.json(),
        });
      }
    }
    // The cases above cover both outcomes: some pass, some are refused with Ajv's reasons.
    const refused = await lazy.inject({ method: "POST", url: "/things/7", payload: { name: "" } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toContain("body/name must NOT have fewer than 1 characters");
    const answered = await lazy.inject({ method: "POST", url: "/things/7", payload: { name: "fan" } });
    expect(answered.json()).toEqual({ id: 7, name: "fan" });
  });

  it("leaves a route's schemas uncompiled until its first request", async () => {
    // A schema Ajv cannot compile fails Fastify's start-up with its own compilers, and only its own
    // route's requests with the lazy ones.
    const broken = { type: "object", properties: { n: { type: "no-such-type" } } };
    const build = (lazy: boolean) => {
      const app = Fastify(lazy ? { schemaController: { compilersFactory: lazySchemaCompilers() } } : {});
      app.post("/broken", { schema: { body: broken } }, async () => ({}));
      app.get("/fine", async () => ({ ok: true }));
      return app;
    };
    await expect(build(false).ready()).rejects.toThrow(/no-such-type|schema/i);
    const lazy = build(true);
    await lazy.ready();
    expect((await lazy.inject({ method: "GET", url: "/fine" })).json()).toEqual({ ok: true });
    expect((await lazy.inject({ method: "POST", url: "/broken", payload: { n: 1 } })).statusCode).toBe(500);
  });
});
