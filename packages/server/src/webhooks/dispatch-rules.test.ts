import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { judgeReadings } from "../alarms/judge.js";
import { createSqliteAlarmsStore } from "../alarms/sqlite.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { dispatchDue } from "./dispatcher.js";
import { nextAttemptAt, RETRY_POLICY } from "./retry.js";
import { httpSender } from "./sender.js";
import { createSqliteWebhooksStore } from "./sqlite.js";
import { isPrivateAddress, refuseWebhookUrl } from "./target.js";

describe("retries", () => {
  it("back off from 10 s, doubling to at most an hour, with half of each delay random", () => {
    const delays = (random: number) =>
      Array.from(
        { length: 12 },
        (_, i) => (nextAttemptAt(RETRY_POLICY, i + 1, 0, 0, () => random) ?? 0) / 1000,
      );
    expect(delays(1)).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
    expect(delays(0)).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800, 1800]);
  });

  it("give up after 15 attempts, or when the next would fall more than 24 h after the transition", () => {
    expect(nextAttemptAt(RETRY_POLICY, 14, 0, 0)).not.toBeNull();
    expect(nextAttemptAt(RETRY_POLICY, 15, 0, 0)).toBeNull();
    expect(nextAttemptAt(RETRY_POLICY, 3, 0, 24 * 3_600_000 - 1000, () => 1)).toBeNull();
  });
});

describe("webhook targets", () => {
  it.each([
    "127.0.0.1",
    "10.0.0.8",
    "172.20.1.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "::1",
    "fd00::1",
    "fe80::1",
    "::ffff:10.0.0.1",
  ])("%s is private", (address) => expect(isPrivateAddress(address)).toBe(true));
  it.each(["93.184.215.14", "8.8.8.8", "2606:4700::6810:85e5"])("%s is public", (address) =>
    expect(isPrivateAddress(address)).toBe(false),
  );

  it("refuses a private target at registration unless allowed", () => {
    expect(refuseWebhookUrl("http://127.0.0.1/x", false)).toContain("private");
    expect(refuseWebhookUrl("http://127.0.0.1/x", true)).toBeNull();
    expect(refuseWebhookUrl("https://hooks.example.com/x", false)).toBeNull();
  });

  it("refuses to connect when a name resolves to a private address (DNS rebinding), unless allowed", async () => {
    const refused = await httpSender({ allowPrivate: false, timeoutMs: 2_000 })(
      "http://localhost:9/x",
      "{}",
      {},
    );
    expect(refused).toMatchObject({ error: "EPRIVATE" });
  });
});

describe("a delivery whose webhook was deleted", () => {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-webhook-deleted-"));
  const db = openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is given up at its next attempt, sending nothing", async () => {
    const alarms = createSqliteAlarmsStore(db);
    const webhooks = createSqliteWebhooksStore(db);
    const webhook = await webhooks.create(
      "acme",
      { url: "https://hooks.example.com/x", description: null, severities: null },
      "s",
      null,
    );
    const rule = await alarms.createRule(
      "acme",
      {
        kind: "threshold",
        device_id: "0b7e7a5c-7a0e-4f3e-9a55-3a1d2b7c9d10",
        metric: "t",
        op: ">",
        threshold: 0,
        for_ms: 0,
        severity: "minor",
      },
      null,
    );
    await alarms.evaluate("acme", rule.id, (stored, state) =>
      judgeReadings(stored, state, [{ timestamp_ms: 1, value: 1 }]),
    );
    await webhooks.delete("acme", webhook!.id);
    let sent = 0;
    const result = await dispatchDue({
      webhooks,
      send: async () => {
        sent += 1;
        return { status: 204, durationMs: 0 };
      },
      fence: null,
      clock: Date.now,
    });
    expect(result).toMatchObject({ recorded: 1, delivered: 0, nextDueMs: null });
    expect(sent).toBe(0);
    expect(await webhooks.pending(10)).toEqual([]);
  });
});
