import { copyFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirebrickApiClient } from "../../packages/server/src/simulator/api-client.js";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * Editing in the browser (issue 19): a tenant admin sets a device's location, defines its points and makes
 * and deletes alarm rules on the device's page; a viewer reads the same settings without a form. Real
 * Chromium against the real server on SQLite and on the Firestore emulator; the crossing is written by the
 * device with its token. Screenshots: docs/device-settings.png and docs/alarm-rules.png (SQLite run, with
 * UPDATE_DASHBOARD_SCREENSHOT=1).
 */

const VIEWER = { username: "viewer", password: "viewer-password", role: "viewer" as const };

function screenshot(page: Page, name: string, store: string) {
  if (store !== "sqlite") return;
  const path = `test-results/${name}.png`;
  return page
    .evaluate(() => window.scrollTo(0, 0))
    .then(() => page.screenshot({ path, fullPage: true }))
    .then(() => {
      if (process.env.UPDATE_DASHBOARD_SCREENSHOT === "1") copyFileSync(path, `docs/${name}.png`);
    });
}

/** The device list as shown: headings as "# place", devices by name. */
function deviceList(page: Page) {
  return page
    .locator("#device-list > li")
    .evaluateAll((items) =>
      items.map((item) => item.querySelector(".device-name")?.textContent ?? `# ${item.textContent}`),
    );
}

/** A table's rows as their cells' text joined by " · ", the action column left out. */
function rows(page: Page, table: string, cells: number[]) {
  return page
    .locator(`${table} tbody tr`)
    .evaluateAll(
      (trs, indexes) =>
        trs.map((tr) => indexes.map((index) => tr.children[index]?.textContent?.trim()).join(" · ")),
      cells,
    );
}

describe.each(["sqlite", "firestore"] as const)(
  "editing devices and alarm rules in the dashboard on %s",
  (store) => {
    let dashboard: DashboardServer;
    let api: FirebrickApiClient;
    let device: { id: string; token: string };
    let admin: Page;

    beforeAll(async () => {
      dashboard = await startDashboardServer({ store, users: [VIEWER] });
      api = new FirebrickApiClient({
        baseUrl: dashboard.server.url,
        tenant: DEMO_LOGIN.tenant,
        tenantHeader: "X-BAS-Tenant",
      });
      await api.login(DEMO_LOGIN.username, DEMO_LOGIN.password);
      await api.createDevice("AHU-1 Lobby");
      device = await api.createDevice("VAV-7 Office");
      const now = Date.now();
      // Two readings, so that the chart draws a line (the default limit allows 5 points a minute).
      await api.postTelemetry(device.id, device.token, [
        { timestamp_ms: now - 20_000, metrics: { zone_temp_c: 22.5, valve_pos: 40 } },
        { timestamp_ms: now - 10_000, metrics: { zone_temp_c: 22.8, valve_pos: 45 } },
      ]);
      admin = await dashboard.newPage();
      await dashboard.signIn(admin, DEMO_LOGIN.username, DEMO_LOGIN.password);
      await signedIn(admin);
      await admin.getByRole("button", { name: /^VAV-7 Office/ }).click();
      await admin.locator("#device-settings").waitFor({ state: "visible" });
    }, 120_000);

    afterAll(async () => {
      await dashboard?.close();
    });

    it("an admin sets the device's location and sees the list regrouped by site, building and floor", async () => {
      await expect.poll(() => deviceList(admin)).toEqual(["AHU-1 Lobby", "VAV-7 Office"]);
      const form = admin.locator("#location-form");
      await form.getByLabel("Site").fill("HQ");
      await form.getByLabel("Building").fill("Building B");
      await form.getByLabel("Floor").fill("L4");
      await form.getByLabel("Zone").fill("Open office");
      await form.getByRole("button", { name: "Save location" }).click();
      await expect
        .poll(() => deviceList(admin), { timeout: 15_000 })
        .toEqual(["# HQ · Building B · L4", "VAV-7 Office", "# No location", "AHU-1 Lobby"]);
      expect(await admin.locator('[data-bind="location-status"]').textContent()).toBe("Location saved.");
    });

    it("an admin defines a point with a unit and range; the chart's axis and picker name it, a refusal shows next to its field", async () => {
      const form = admin.locator("#point-form");
      await form.getByLabel("Metric").fill("valve_pos");
      await form.getByLabel("Display name").fill("Valve position");
      await form.getByLabel("Unit").fill("%");
      await form.getByLabel("Lowest valid").fill("80");
      await form.getByLabel("Highest valid").fill("20");
      await form.getByRole("button", { name: "Save point" }).click();
      // The server's refusal (min above max), under the field it names.
      const minError = form.locator('[data-error-for="min"]');
      await expect.poll(() => minError.isVisible()).toBe(true);
      expect(await minError.textContent()).toContain("min must not be greater than max");
      expect(await form.getByLabel("Lowest valid").getAttribute("aria-invalid")).toBe("true");

      await form.getByLabel("Lowest valid").fill("0");
      await form.getByLabel("Highest valid").fill("100");
      await form.getByRole("button", { name: "Save point" }).click();
      await expect
        .poll(() => rows(admin, "#points-table", [0, 1, 2, 3, 4]), { timeout: 15_000 })
        .toEqual(["valve_pos · Valve position · % · Number · 0 – 100"]);
      await expect.poll(() => minError.isVisible()).toBe(false);
      await expect
        .poll(() => admin.locator("#metric-picker label").allTextContents(), { timeout: 15_000 })
        .toContain("Valve position (%)");
      // On the chart: its legend (the value axis, drawn on the canvas, carries the same label).
      await admin.locator('label[for="metric-valve_pos"]').click();
      await expect
        .poll(() => admin.locator("#chart .u-legend .u-label").allTextContents(), { timeout: 15_000 })
        .toContain("Valve position (%)");
      expect(await admin.locator("#chart").getAttribute("aria-label")).toContain("Valve position");
      await admin.locator('label[for="metric-zone_temp_c"]').click();
    });

    it("an admin creates a rule in the browser; a crossing raises an alarm the badge counts; deleting the rule clears it", async () => {
      const form = admin.locator("#rule-form");
      await form.getByLabel("Metric").fill("zone_temp_c");
      await form.getByLabel("Condition").selectOption(">");
      await form.getByLabel("Threshold").fill("26");
      await form.getByLabel("Held for (minutes)").fill("0");
      await form.getByLabel("Severity").selectOption("critical");
      await form.getByRole("button", { name: "Create rule" }).click();
      await expect
        .poll(() => rows(admin, "#device-rules-table", [0, 1, 2]), { timeout: 15_000 })
        .toEqual(["critical · Zone temperature > 26.0 °C · at once"]);
      await screenshot(admin, "device-settings", store);
      // An offline rule shorter than the server allows: its refusal sits under "Held for".
      await form.getByLabel("Watch").selectOption("offline");
      await form.getByLabel("Held for (minutes)").fill("1");
      await form.getByRole("button", { name: "Create rule" }).click();
      const forError = form.locator('[data-error-for="for_ms"]');
      await expect.poll(() => forError.isVisible()).toBe(true);
      expect(await forError.textContent()).toContain("for_ms is at least");
      await form.getByLabel("Watch").selectOption("threshold");

      await api.postTelemetry(device.id, device.token, [
        { timestamp_ms: Date.now() - 1000, metrics: { zone_temp_c: 29.5, valve_pos: 130 } },
      ]);
      // A viewer signing in now: the badge's first count, the settings without a form.
      const viewer = await dashboard.newPage();
      await dashboard.signIn(viewer, VIEWER.username, VIEWER.password);
      await signedIn(viewer);
      await expect.poll(() => viewer.locator("#alarm-badge").textContent(), { timeout: 15_000 }).toBe("1");
      await viewer.getByRole("button", { name: /^VAV-7 Office/ }).click();
      await expect
        .poll(() => viewer.locator("#location-values").textContent(), { timeout: 15_000 })
        .toContain("Open office");
      expect(await viewer.locator("#location-form").isVisible()).toBe(false);
      expect(await viewer.locator("#rule-form").isVisible()).toBe(false);
      await expect
        .poll(() => rows(viewer, "#device-rules-table", [0, 1]))
        .toEqual(["critical · Zone temperature > 26.0 °C"]);
      expect(await viewer.getByRole("button", { name: /^Delete rule/ }).count()).toBe(0);
      // The valve's 130 % is outside its 0–100 range: the API flags it, the readout says so.
      await viewer.locator('label[for="metric-valve_pos"]').click();
      await expect
        .poll(() => viewer.locator('[data-bind="readout-meta"]').textContent(), { timeout: 15_000 })
        .toContain("Valve position · outside its valid range");
      expect(await viewer.locator("#readout").getAttribute("data-out-of-range")).toBe("true");
      await viewer.context().close();

      await admin.getByRole("link", { name: /^Alarms/ }).click();
      await expect
        .poll(() => rows(admin, "#alarms-table", [0, 1, 2, 4]), { timeout: 15_000 })
        .toEqual(["critical · VAV-7 Office · Zone temperature 29.5 °C · Active"]);
      await expect.poll(() => admin.locator("#alarm-badge").textContent()).toBe("1");
      await expect
        .poll(() => rows(admin, "#rules-table", [0, 1, 2, 3]))
        .toEqual(["critical · VAV-7 Office · Zone temperature > 26.0 °C · at once"]);
      await screenshot(admin, "alarm-rules", store);

      await admin
        .getByRole("button", { name: "Delete rule: Zone temperature > 26.0 °C on VAV-7 Office" })
        .click();
      await expect.poll(() => admin.locator("#rules-table tbody tr").count(), { timeout: 15_000 }).toBe(0);
      await expect.poll(() => admin.locator("#alarms-table tbody tr").count(), { timeout: 15_000 }).toBe(0);
      await expect.poll(() => admin.locator("#alarm-badge").isVisible()).toBe(false);
    });
  },
);
