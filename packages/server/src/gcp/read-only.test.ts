import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOOTSTRAP_CONFIG } from "../bootstrap/config.js";
import { runBootstrap } from "../bootstrap/run.js";
import { ControlPlaneError } from "./control-plane.js";
import { readOnlyControlPlane } from "./read-only.js";
import { createRestControlPlane } from "./rest.js";
import { FakeControlPlane } from "./testing/fake-control-plane.js";

let fake: FakeControlPlane;
beforeAll(async () => {
  fake = await new FakeControlPlane().start();
});
afterAll(() => fake.stop());

describe("readOnlyControlPlane", () => {
  it("answers reads and refuses every mutation without sending it", async () => {
    fake.provisioned("read-only-project");
    const controlPlane = readOnlyControlPlane(
      createRestControlPlane({
        projectId: "read-only-project",
        firestoreEndpoint: fake.url,
        serviceUsageEndpoint: fake.url,
        accessToken: async () => fake.token,
      }),
    );
    expect(controlPlane.kind).toBe("rest");
    expect(await controlPlane.getDatabase()).toMatchObject({ type: "FIRESTORE_NATIVE" });
    const attempts = [
      controlPlane.enableService("firestore.googleapis.com"),
      controlPlane.createDatabase("us-east4"),
      controlPlane.createIndex("telemetry", { queryScope: "COLLECTION", fields: [] }),
      controlPlane.setFieldIndexes("telemetry", "timestamp_ms", []),
      controlPlane.enableTtl("telemetry", "expire_at"),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ControlPlaneError);
      expect((error as ControlPlaneError).transient).toBe(false);
    }
    expect(fake.mutations()).toEqual([]);
  });

  it("a control plane that cannot be reached is a transient failure, retried, then named", async () => {
    const delays: number[] = [];
    const report = await runBootstrap({
      config: DEFAULT_BOOTSTRAP_CONFIG,
      projectId: "unreachable-project",
      controlPlane: createRestControlPlane({
        projectId: "unreachable-project",
        firestoreEndpoint: "http://127.0.0.1:1/",
        serviceUsageEndpoint: "http://127.0.0.1:1/",
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
