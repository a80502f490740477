// Run as a child (node --import tsx): starts the server as `firebrick serve` would on the embedded
// default (SQLite only, no Firestore configured), with every module the command loads, then prints the
// npm packages this process has loaded, as JSON, and stops. lazy-loading.test.ts reads it.
import { createRequire } from "node:module";
import { Writable } from "node:stream";
import "../../cli/commands/serve.js";
import { createLogger } from "../../observability/logger.js";
import { startServer } from "../../server.js";
import { loadStartupConfig } from "../startup-config.js";

const config = await loadStartupConfig({ FIREBRICK_DATA_DIR: process.argv[2]!, PORT: "0" });
const silent = createLogger("silent", new Writable({ write: (_chunk, _encoding, done) => done() }));
const server = await startServer(config, silent, { print: () => undefined });
await fetch(`${server.url}/healthz`);
const packages = new Set<string>();
for (const file of Object.keys(createRequire(import.meta.url).cache)) {
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  if (name) packages.add(name);
}
await server.close();
process.stdout.write(JSON.stringify([...packages].sort()));
