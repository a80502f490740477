import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOOTSTRAP_CONFIG } from "../bootstrap/config.js";
import { runBootstrap } from "../bootstrap/run.js";
import { ControlPlaneError, MUTATING_METHODS } from "./control-plane.js";
import { readOnlyControlPlane } from "./read-only.js";
import { createRestControlPlane } from "./rest.js";
import { FakeControlPlane, restControlPlaneOn } from "./testing/fake-control-plane.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

describe("readOnlyControlPlane", () => {
  it("answers reads and refuses every mutating method without sending it", async () => {
    fake.provisioned("read-only-project");
    const controlPlane = readOnlyControlPlane(restControlPlaneOn(fake, "read-only-project"));
    expect(controlPlane.kind).toBe("rest");
    expect(await controlPlane.getDatabase()).toMatchObject({ type: "FIRESTORE_NATIVE" });
    // Every mutating method, whatever its arguments: refused before anything is sent.
    const attempts = MUTATING_METHODS.map((method) =>
      (controlPlane[method] as (...args: unknown[]) => Promise<unknown>)(),
    );
    for (const attempt of attempts) {
      const error = await attempt.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ControlPlaneError);
      expect((error as ControlPlaneError).transient).toBe(false);
    }
    expect(attempts).toHaveLength(16);
    expect(fake.mutations()).toEqual([]);
    // Reads still go through, POST reads included.
    expect(await controlPlane.testIamPermissions(["datastore.entities.get"])).toEqual([
      "datastore.entities.get",
    ]);
  });

  it("a control plane that cannot be reached is a transient failure, retried, then named", async () => {
    const delays: number[] = [];
    const report = await runBootstrap({
      config: DEFAULT_BOOTSTRAP_CONFIG,
      projectId: "unreachable-project",
      controlPlane: createRestControlPlane({
        projectId: "unreachable-project",
        endpoints: { firestore: "http://127.0.0.1:1/", serviceusage: "http://127.0.0.1:1/" },
        accessToken: async () => "token",
      }),
      firestore: () => {
        throw new Error("the document must not be reached");
      },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect(report.compliant).toBe(false);
    expect(delays).toEqual([1000, 2000]);
    expect(report.checks[0]).toMatchObject({ check: "api", status: "failed" });
    expect(report.checks[0]!.detail).toMatch(/^UNAVAILABLE: .*\(still failing after retries\)$/);
  });
});
