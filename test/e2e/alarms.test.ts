import { copyFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirebrickApiClient } from "../../packages/server/src/simulator/api-client.js";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * The Alarms view and the header's count (issue 19), in real Chromium against the real server on SQLite
 * and on the Firestore emulator: rules made through the API, crossings posted by the devices with their
 * tokens, alarms raised by the server as the points arrive. Screenshot: docs/alarms.png (SQLite run, with
 * UPDATE_DASHBOARD_SCREENSHOT=1).
 */

const OPERATOR = { username: "operator", password: "operator-password", role: "operator" as const };
const VIEWER = { username: "viewer", password: "viewer-password", role: "viewer" as const };

/** Each rule's severity, and the metric and threshold whose crossing raises it. */
const RULES = [
  { device: "AHU-2 Supply", metric: "zone_temp_c", threshold: 26, severity: "major" },
  { device: "AHU-2 Supply", metric: "co2_ppm", threshold: 1200, severity: "critical" },
  { device: "Zone 3.14 Lab", metric: "humidity_pct", threshold: 60, severity: "minor" },
  { device: "Zone 3.14 Lab", metric: "zone_temp_c", threshold: 25, severity: "warning" },
];

const LOCATIONS = {
  "AHU-2 Supply": { site: "HQ", building: "Building A", floor: "Roof" },
  "Zone 3.14 Lab": { site: "HQ", building: "Building A", floor: "L3", zone: "Lab 14" },
};

/** The alarm table's rows as "severity · device · state", top to bottom. */
function rows(page: Page) {
  return page
    .locator("#alarms-table tbody tr")
    .evaluateAll((trs) =>
      trs.map((tr) => [0, 1, 4].map((index) => tr.children[index]?.textContent?.trim()).join(" · ")),
    );
}

describe.each(["sqlite", "firestore"] as const)("alarms and places in the dashboard on %s", (store) => {
  let dashboard: DashboardServer;

  beforeAll(async () => {
    dashboard = await startDashboardServer({ store, users: [OPERATOR, VIEWER] });
    const api = new FirebrickApiClient({
      baseUrl: dashboard.server.url,
      tenant: DEMO_LOGIN.tenant,
      tenantHeader: "X-BAS-Tenant",
    });
    await api.login(DEMO_LOGIN.username, DEMO_LOGIN.password);
    const devices = new Map<string, { id: string; token: string }>();
    for (const name of new Set(RULES.map((rule) => rule.device)))
      devices.set(name, await api.createDevice(name));

    // The rules, made by the admin through the API from a signed-in page (the session is the browser's).
    const page = await dashboard.newPage();
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    for (const rule of RULES) {
      const status = await page.evaluate(
        async (body) =>
          (
            await fetch("/api/alarm-rules", {
              method: "POST",
              headers: { "content-type": "application/json", "x-bas-tenant": "demo" },
              body: JSON.stringify(body),
            })
          ).status,
        {
          device_id: devices.get(rule.device)!.id,
          metric: rule.metric,
          op: ">",
          threshold: rule.threshold,
          for_ms: 0,
          severity: rule.severity,
        },
      );
      expect(status).toBe(201);
    }
    // Where each device is, and a display name for one of its points.
    const call = (method: string, path: string, body: unknown) =>
      page.evaluate(
        async ({ method, path, body }) =>
          (
            await fetch(path, {
              method,
              headers: { "content-type": "application/json", "x-bas-tenant": "demo" },
              body: JSON.stringify(body),
            })
          ).status,
        { method, path, body },
      );
    for (const [name, location] of Object.entries(LOCATIONS)) {
      expect(await call("PATCH", `/api/devices/${devices.get(name)!.id}`, { location })).toBe(200);
    }
    expect(
      await call("PUT", `/api/devices/${devices.get("AHU-2 Supply")!.id}/points/zone_temp_c`, {
        name: "Supply air temperature",
        unit: "°C",
        kind: "number",
        min: 5,
        max: 45,
      }),
    ).toBe(200);
    await page.context().close();

    // One reading per device crosses every rule of that device.
    const now = Date.now();
    for (const [name, device] of devices) {
      const metrics = Object.fromEntries(
        RULES.filter((rule) => rule.device === name).map((rule) => [rule.metric, rule.threshold + 3.5]),
      );
      await api.postTelemetry(device.id, device.token, [{ timestamp_ms: now - 1000, metrics }]);
    }
  }, 120_000);

  afterAll(async () => {
    await dashboard?.close();
  });

  it("counts active alarms in the header, lists them by severity, and lets an operator acknowledge one", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, OPERATOR.username, OPERATOR.password);
    await signedIn(page);
    const badge = page.locator("#alarm-badge");
    await expect.poll(() => badge.textContent(), { timeout: 15_000 }).toBe("4");

    await page.getByRole("link", { name: /^Alarms/ }).click();
    await expect
      .poll(() => rows(page), { timeout: 15_000 })
      .toEqual([
        "critical · AHU-2 Supply · Active",
        "major · AHU-2 Supply · Active",
        "minor · Zone 3.14 Lab · Active",
        "warning · Zone 3.14 Lab · Active",
      ]);
    expect(await page.locator("#alarms-table tbody tr").first().textContent()).toContain("CO₂ 1,204 ppm");
    // The device's own name for the point, not the guess from its suffix.
    expect(await page.locator("#alarms-table tbody tr").nth(1).textContent()).toContain(
      "Supply air temperature 29.5 °C",
    );

    await page.getByRole("button", { name: "Acknowledge major alarm on AHU-2 Supply" }).click();
    await expect
      .poll(() => rows(page), { timeout: 15_000 })
      .toEqual([
        "critical · AHU-2 Supply · Active",
        "minor · Zone 3.14 Lab · Active",
        "warning · Zone 3.14 Lab · Active",
        "major · AHU-2 Supply · Acknowledged by you",
      ]);
    await expect.poll(() => badge.textContent()).toBe("3");
    expect(await page.getByRole("button", { name: /^Acknowledge/ }).count()).toBe(3);
    if (store === "sqlite") {
      await page.screenshot({ path: "test-results/alarms.png" });
      if (process.env.UPDATE_DASHBOARD_SCREENSHOT === "1")
        copyFileSync("test-results/alarms.png", "docs/alarms.png");
    }
    await page.context().close();
  });

  it("groups the device list by site, building and floor, and names a point as its definition says", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, VIEWER.username, VIEWER.password);
    await signedIn(page);
    await expect
      .poll(
        () =>
          page
            .locator("#device-list > li")
            .evaluateAll((items) =>
              items.map((item) => item.querySelector(".device-name")?.textContent ?? `# ${item.textContent}`),
            ),
        { timeout: 15_000 },
      )
      .toEqual(["# HQ · Building A · L3", "Zone 3.14 Lab", "# HQ · Building A · Roof", "AHU-2 Supply"]);
    await page.getByRole("button", { name: /^AHU-2 Supply/ }).click();
    await expect
      .poll(() => page.locator("#metric-picker label").allTextContents(), { timeout: 15_000 })
      .toEqual(["Supply air temperature (°C)", "CO₂ (ppm)"]);
    await page.locator('label[for="metric-zone_temp_c"]').click();
    await expect
      .poll(() => page.locator('[data-bind="readout-meta"]').getAttribute("data-label"))
      .toBe("Supply air temperature");
    await page.context().close();
  });

  it("shows a viewer the count and the list, with no Acknowledge button", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, VIEWER.username, VIEWER.password);
    await signedIn(page);
    await expect
      .poll(() => page.locator("#alarm-badge").textContent(), { timeout: 15_000 })
      .toMatch(/^[34]$/);
    await page.getByRole("link", { name: /^Alarms/ }).click();
    await expect.poll(() => page.locator("#alarms-table tbody tr").count(), { timeout: 15_000 }).toBe(4);
    expect(await page.getByRole("button", { name: /^Acknowledge/ }).count()).toBe(0);
    await page.context().close();
  });
});
