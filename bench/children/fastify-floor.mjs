// The floor of the HTTP comparisons: a bare Fastify server in a process of its own that parses the same
// JSON bodies on the same route as the service's telemetry writes and answers 202, and nothing else (no
// auth, no validation, no store). Plain JavaScript, so that it starts as fast as Node and Fastify allow
// (the start-up phase compares `firebrick serve` with it). Prints its URL on stdout once listening.
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 128 * 1024 });
app.post("/api/devices/:id/telemetry", async (request, reply) =>
  reply.status(202).send({ accepted: request.body.points.length }),
);
app.get("/healthz", async () => ({ status: "ok" }));
const url = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${url}\n`);
