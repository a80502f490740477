import { request as httpRequest } from "node:http";
import type { Phase } from "../lib/context.js";
import { MiB, num } from "../lib/figure.js";
import { percentile } from "../lib/stats.js";
import { call, HEADER, login, startServerProcess, TENANT } from "../server-process.js";

/** Real users signing in at once, and as many sign-ins with usernames nobody has. */
const USERS = 100;
const UNKNOWN = 100;
/** The bound on any sign-in answer under a flood (issue 15). */
const ANSWER_BOUND_MS = 2000;
/** Retries a refused real user makes (each after its Retry-After) before the phase gives up on it. */
const MAX_ATTEMPTS = 30;

interface Answer {
  status: number;
  ms: number;
  retryAfterS: number | null;
}

/**
 * A sign-in flood against `firebrick serve` (production Argon2id: 64 MiB per hash, every area on
 * Firestore): 100 real users and 100 unknown usernames at once, each from its own loopback address so
 * that the per-address limits let them through. Measures every answer's time (bounded by the hashing
 * queue: 200, 401, or 503 with Retry-After), the peak RSS, and how the refused real users get in by
 * retrying after their Retry-After. Absolute bounds, not comparisons: no rounds.
 */
export const loginFloodPhase: Phase = {
  name: "login-flood",
  title: `answer times and peak RSS under ${USERS + UNKNOWN} concurrent sign-ins (production Argon2id)`,
  async run(bench) {
    const env = {
      dataDir: bench.tempDir("rss"),
      firestore: { emulatorHost: (await bench.emulator()).hostPort, projectId: bench.projectId("rss") },
    };
    bench.log(`creating ${USERS} users…`);
    const setup = await startServerProcess(env);
    const password = "bench password 1234";
    try {
      const admin = await login(setup.url, "admin", setup.adminPassword!);
      // Two at a time, as many as there are hashing slots: more would wait in (and be refused by) the queue.
      for (let i = 0; i < USERS; i += 2) {
        await Promise.all(
          [0, 1].map((j) =>
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
      const signIn = (slot: number, username: string, given = password) =>
        new Promise<Answer>((resolve, reject) => {
          const started = performance.now();
          const request = httpRequest(
            {
              host: "127.0.0.1",
              port,
              method: "POST",
              path: "/api/auth/login",
              localAddress: `127.0.${Math.floor((slot + 2) / 250)}.${((slot + 2) % 250) + 1}`,
              headers: { "content-type": "application/json", [HEADER]: TENANT },
            },
            (response) => {
              response.resume();
              response.once("end", () => {
                const retryAfter = response.headers["retry-after"];
                resolve({
                  status: response.statusCode ?? 0,
                  ms: performance.now() - started,
                  retryAfterS: retryAfter === undefined ? null : Number(retryAfter),
                });
              });
            },
          );
          request.once("error", reject);
          request.end(JSON.stringify({ username, password: given }));
        });

      // The floor of this machine at this moment: as many requests at once that the server refuses
      // without hashing (an empty password fails validation, 400), from the same addresses.
      const floor = await Promise.all(
        Array.from({ length: USERS + UNKNOWN }, (_, i) => signIn(i, `viewer${i}`, "")),
      );
      // Real users and unknown names interleaved, so that neither kind is always first in line.
      const flood = await Promise.all(
        Array.from({ length: USERS + UNKNOWN }, (_, i) =>
          i % 2 === 0 ? signIn(i, `viewer${i / 2}`) : signIn(i, `nobody${(i - 1) / 2}`),
        ),
      );
      const known = flood.filter((_, i) => i % 2 === 0);
      const unknown = flood.filter((_, i) => i % 2 === 1);
      const times = flood.map((answer) => answer.ms);
      const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;
      const refusedWithoutRetryAfter = flood.filter(
        (a) => a.status === 503 && !(a.retryAfterS !== null && a.retryAfterS >= 1),
      ).length;
      const unexpected = flood.filter((a, i) => ![i % 2 === 0 ? 200 : 401, 503].includes(a.status)).length;
      const floorTimes = floor.map((answer) => answer.ms);

      // Every real user refused with 503 comes back after its Retry-After, as a client should.
      const retryStarted = performance.now();
      const attempts = await Promise.all(
        known.map(async (first, i) => {
          let answer = first;
          let made = 1;
          while (answer.status === 503 && made < MAX_ATTEMPTS) {
            await new Promise((resolve) => setTimeout(resolve, (answer.retryAfterS ?? 1) * 1000));
            answer = await signIn(2 * i, `viewer${i}`);
            made += 1;
          }
          return { made, in: answer.status === 200 };
        }),
      );
      const retryMs = performance.now() - retryStarted;
      const { peak } = server.memory();
      const naive = idle + (USERS + UNKNOWN) * 64 * MiB;
      const allIn = attempts.every((a) => a.in);
      const ms = (value: number) => `${num(value)} ms`;
      const median = (answers: Answer[], status: number) =>
        percentile(
          answers.filter((a) => a.status === status).map((a) => a.ms),
          50,
        );
      return [
        {
          what: `sign-in answer time under ${USERS + UNKNOWN} at once (${USERS} real users, ${UNKNOWN} unknown names): p50 / p95 / max`,
          measured: `${ms(percentile(times, 50))} / ${ms(percentile(times, 95))} / ${ms(Math.max(...times))}; ${count(known, 200)} × 200, ${count(unknown, 401)} × 401, ${count(flood, 503)} × 503 + Retry-After`,
          baseline: `as many refused without hashing (400): ${ms(percentile(floorTimes, 50))} / ${ms(percentile(floorTimes, 95))} / ${ms(Math.max(...floorTimes))}`,
          ratio: `max ${(Math.max(...times) / Math.max(...floorTimes)).toFixed(2)}×`,
          target: `every answer ≤ ${num(ANSWER_BOUND_MS)} ms; 503s carry Retry-After`,
          met: Math.max(...times) <= ANSWER_BOUND_MS && refusedWithoutRetryAfter === 0 && unexpected === 0,
        },
        {
          what: "unknown username vs real user under the flood, median answer (401 vs 200; 503 vs 503)",
          measured: `${ms(median(unknown, 401))} vs ${ms(median(known, 200))}; ${ms(median(unknown, 503))} vs ${ms(median(known, 503))}`,
          baseline: "—",
          ratio: "—",
          target: "alike (no enumeration by timing)",
          met: null,
        },
        {
          what: `real users refused by the flood, each retrying after its Retry-After`,
          measured: `${attempts.filter((a) => a.in).length} of ${USERS} in, within ${num(retryMs / 1000, 1)} s; at most ${Math.max(...attempts.map((a) => a.made))} attempts`,
          baseline: "—",
          ratio: "—",
          target: "every one gets in",
          met: allIn,
        },
        {
          what: `peak RSS of the server under ${USERS + UNKNOWN} concurrent sign-ins and the retries`,
          measured: `${(peak / MiB).toFixed(0)} MiB (idle ${(idle / MiB).toFixed(0)} MiB)`,
          baseline: `unbounded hashing ≈ ${(naive / MiB).toFixed(0)} MiB`,
          ratio: `${(peak / naive).toFixed(2)}×`,
          target: "well under 1 GiB",
          met: peak < 1024 * MiB,
        },
      ];
    } finally {
      await server.stop();
    }
  },
};
