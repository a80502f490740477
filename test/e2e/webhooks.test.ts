import { copyFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirebrickApiClient } from "../../packages/server/src/simulator/api-client.js";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { startReceiver } from "../../packages/server/src/webhooks/testing/receiver.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * The admin page's Webhooks panel (issue 19), in real Chromium against the real server on SQLite and on
 * the Firestore emulator: an admin adds a webhook pointing at a real local receiver, copies its secret
 * (shown once), an alarm is raised by a device's point, the server's dispatcher delivers it signed, the
 * panel shows the attempt, and the admin deletes the webhook. Screenshot: docs/webhooks.png (SQLite run, with
 * UPDATE_DASHBOARD_SCREENSHOT=1).
 */
describe.each(["sqlite", "firestore"] as const)("webhooks in the dashboard on %s", (store) => {
  let dashboard: DashboardServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let page: Page;

  beforeAll(async () => {
    receiver = await startReceiver();
    dashboard = await startDashboardServer({ store, env: { FIREBRICK_WEBHOOK_ALLOW_PRIVATE: "1" } });
    page = await dashboard.newPage({ permissions: ["clipboard-read", "clipboard-write"] });
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
  }, 120_000);
  afterAll(async () => {
    await dashboard?.close();
    await receiver?.close();
  });

  it("an admin adds a webhook (secret shown once, copied), sees its delivery attempts, and deletes it", async () => {
    await page.goto(`${dashboard.server.url}/#/admin`);
    const panel = page.locator(".webhooks-panel");
    await panel.getByText("No webhook yet.").waitFor();
    await panel.getByLabel("URL").fill(receiver.url("/dashboard"));
    await panel.getByLabel("Description").fill("on-call pager");
    await panel.getByRole("button", { name: "Add webhook" }).click();

    await page.locator("#webhook-secret").waitFor({ state: "visible", timeout: 10_000 });
    const secret = (await page.locator("#webhook-secret-value").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_/);
    await page.locator("#webhook-secret-copy").click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    receiver.secret("/dashboard", secret);
    await page.locator("#webhook-secret-dismiss").click();
    await page.locator("#webhook-secret").waitFor({ state: "hidden", timeout: 5_000 });
    await expect.poll(() => panel.locator(".webhook code").textContent()).toBe(receiver.url("/dashboard"));
    expect(await panel.textContent()).not.toContain(secret);

    // A device crosses a rule's threshold: the server raises the alarm and its dispatcher delivers it.
    const api = new FirebrickApiClient({
      baseUrl: dashboard.server.url,
      tenant: DEMO_LOGIN.tenant,
      tenantHeader: "X-BAS-Tenant",
    });
    await api.login(DEMO_LOGIN.username, DEMO_LOGIN.password);
    const device = await api.createDevice("AHU-9");
    const status = await page.evaluate(
      async (body) =>
        (
          await fetch("/api/alarm-rules", {
            method: "POST",
            headers: { "content-type": "application/json", "x-bas-tenant": "demo" },
            body: JSON.stringify(body),
          })
        ).status,
      { device_id: device.id, metric: "zone_temp_c", op: ">", threshold: 26, for_ms: 0, severity: "major" },
    );
    expect(status).toBe(201);
    const written = await fetch(`${dashboard.server.url}/api/devices/${device.id}/telemetry`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-bas-tenant": "demo",
        authorization: `Bearer ${device.token}`,
      },
      body: JSON.stringify({ points: [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 31 } }] }),
    });
    expect(written.status).toBe(202);
    await expect
      .poll(() => receiver.received.filter((entry) => entry.signed).length, { timeout: 20_000 })
      .toBe(1);

    await expect
      .poll(
        async () => {
          await page.locator("#webhooks-refresh").click();
          return panel.locator(".webhook-attempts tbody tr").first().textContent();
        },
        { timeout: 20_000 },
      )
      .toContain("HTTP 204 · delivered");
    expect(await panel.locator(".webhook-attempts tbody tr").first().textContent()).toContain("alarm.raised");
    if (store === "sqlite") {
      await panel.screenshot({ path: "test-results/webhooks.png" });
      if (process.env.UPDATE_DASHBOARD_SCREENSHOT === "1")
        copyFileSync("test-results/webhooks.png", "docs/webhooks.png");
    }

    page.once("dialog", (dialog) => dialog.accept());
    await panel.getByRole("button", { name: "Delete" }).click();
    await panel.getByText("No webhook yet.").waitFor();
  }, 90_000);
});
