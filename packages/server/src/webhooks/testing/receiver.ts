import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifySignature } from "../signature.js";

/** One POST as a receiver saw it. */
export interface Received {
  path: string;
  id: string;
  body: string;
  /** Whether the signature verified with the secret registered for the path. */
  signed: boolean;
  status: number;
}

/**
 * A real local HTTP receiver for webhook tests: verifies each POST's signature with the secret set for
 * its path, answers `failFirst` times 500 for each delivery id on that path before 204, and keeps what it saw.
 */
export async function startReceiver(): Promise<{
  url(path: string): string;
  secret(path: string, secret: string, options?: { failFirst?: number }): void;
  received: Received[];
  /** Delivery ids seen, with every distinct body each came with. */
  bodiesById(): Map<string, Set<string>>;
  close(): Promise<void>;
}> {
  const secrets = new Map<string, { secret: string; failFirst: number }>();
  const seen = new Map<string, number>();
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = request.url ?? "/";
      const id = String(request.headers[DELIVERY_HEADER] ?? "");
      const config = secrets.get(path);
      const signature = request.headers[SIGNATURE_HEADER];
      const signed =
        config !== undefined &&
        verifySignature(config.secret, body, typeof signature === "string" ? signature : undefined);
      const count = (seen.get(`${path} ${id}`) ?? 0) + 1;
      seen.set(`${path} ${id}`, count);
      const status = !signed ? 401 : count <= (config?.failFirst ?? 0) ? 500 : 204;
      received.push({ path, id, body, signed, status });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    secret(path, secret, options = {}) {
      secrets.set(path, { secret, failFirst: options.failFirst ?? 0 });
    },
    received,
    bodiesById() {
      const byId = new Map<string, Set<string>>();
      for (const entry of received) {
        if (!byId.has(entry.id)) byId.set(entry.id, new Set());
        byId.get(entry.id)!.add(entry.body);
      }
      return byId;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
