import { request as httpRequest } from "node:http";
import type { Phase } from "../lib/context.js";
import { MiB } from "../lib/figure.js";
import { call, HEADER, login, startServerProcess, TENANT } from "../server-process.js";

const LOGINS = 100;

/**
 * Peak RSS of `firebrick serve` (production Argon2id: 64 MiB per hash, every area on Firestore) under 100
 * concurrent logins, each from its own loopback address so that the per-IP failure limit lets them in.
 * An absolute bound (the hashing concurrency limit), not a comparison: no rounds.
 */
export const loginFloodPhase: Phase = {
  name: "login-flood",
  title: `peak RSS under ${LOGINS} concurrent logins (production Argon2id)`,
  async run(bench) {
    const env = {
      dataDir: bench.tempDir("rss"),
      firestore: { emulatorHost: (await bench.emulator()).hostPort, projectId: bench.projectId("rss") },
    };
    bench.log(`creating ${LOGINS} users…`);
    const setup = await startServerProcess(env);
    const password = "bench password 1234";
    try {
      const admin = await login(setup.url, "admin", setup.adminPassword!);
      for (let i = 0; i < LOGINS; i += 4) {
        await Promise.all(
          [0, 1, 2, 3].map((j) =>
            call(setup.url, "POST", "/api/users", {
              cookie: admin,
              body: { username: `viewer${i + j}`, password, role: "viewer" },
              expect: 201,
            }),
          ),
        );
      }
    } finally {
      await setup.stop();
    }
    // A fresh process, so that its high-water mark covers only start-up and the flood.
    const server = await startServerProcess(env);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const idle = server.memory().rss;
      const port = Number(new URL(server.url).port);
      const body = (i: number) => JSON.stringify({ username: `viewer${i}`, password });
      const statuses = await Promise.all(
        Array.from(
          { length: LOGINS },
          (_, i) =>
            new Promise<number>((resolve, reject) => {
              const request = httpRequest(
                {
                  host: "127.0.0.1",
                  port,
                  method: "POST",
                  path: "/api/auth/login",
                  localAddress: `127.0.${Math.floor((i + 2) / 250)}.${((i + 2) % 250) + 1}`,
                  headers: { "content-type": "application/json", [HEADER]: TENANT },
                },
                (response) => {
                  response.resume();
                  response.once("end", () => resolve(response.statusCode ?? 0));
                },
              );
              request.once("error", reject);
              request.end(body(i));
            }),
        ),
      );
      const { peak } = server.memory();
      const ok = statuses.filter((status) => status === 200).length;
      const naive = idle + LOGINS * 64 * MiB;
      return [
        {
          what: `peak RSS of the server under ${LOGINS} concurrent logins (${ok} × 200)`,
          measured: `${(peak / MiB).toFixed(0)} MiB (idle ${(idle / MiB).toFixed(0)} MiB)`,
          baseline: `unbounded hashing ≈ ${(naive / MiB).toFixed(0)} MiB`,
          ratio: `${(peak / naive).toFixed(2)}×`,
          target: "well under 1 GiB",
          met: peak < 1024 * MiB && ok === LOGINS,
        },
      ];
    } finally {
      await server.stop();
    }
  },
};
