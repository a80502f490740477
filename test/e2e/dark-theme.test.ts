import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { colours } from "./colours.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * The dark theme follows the system setting (`prefers-color-scheme`), in real Chromium: the page turns
 * dark, and its text stays readable (WCAG contrast) on the surfaces it sits on.
 */

let dashboard: DashboardServer;

beforeAll(async () => {
  dashboard = await startDashboardServer({ store: "sqlite" });
  const stores = dashboard.server.stores.router.stores;
  const device = await stores.devices.create(DEMO_LOGIN.tenant, {
    name: "AHU-1 Supply",
    token_hash: "e2e-unused",
  });
  const now = Date.now();
  await stores.telemetry.append(
    DEMO_LOGIN.tenant,
    device.id,
    Array.from({ length: 30 }, (_, i) => ({
      timestamp_ms: now - (30 - i) * 60_000,
      metrics: { zone_temp_c: 21 + Math.sin(i / 4), co2_ppm: 600 + i * 5 },
    })),
  );
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
});

const TEXT = [
  "#devices-title",
  ".device-name",
  ".device-age .age-text",
  "#chart-title",
  '[data-bind="chart-subtitle"]',
  '[data-bind="readout-value"]',
  ".segment input:checked + label",
  ".segment input:not(:checked) + label",
  ".stats dt",
  '[data-bind="username"]',
];

async function liveView(colorScheme: "light" | "dark"): Promise<Page> {
  const page = await dashboard.newPage({ colorScheme });
  await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
  await signedIn(page);
  await page.locator("#chart canvas").waitFor({ timeout: 10_000 });
  await page.locator(".device-age .age-text").first().waitFor({ timeout: 10_000 });
  return page;
}

describe("dark theme", () => {
  it("follows the system's dark setting and keeps every text readable (contrast at least 4.5:1)", async () => {
    const light = await liveView("light");
    const lightColours = await colours(light, TEXT);
    await light.context().close();

    const dark = await liveView("dark");
    const darkColours = await colours(dark, TEXT);
    expect(darkColours.background).not.toBe(lightColours.background);
    // Dark: the page's own background is darker than mid-grey.
    const [r, g, b] = (darkColours.background.match(/\d+/g) ?? []).map(Number);
    expect(r! + g! + b!).toBeLessThan(3 * 64);
    for (const [selector, ratio] of Object.entries(darkColours.contrast)) {
      expect({ selector, readable: ratio >= 4.5, ratio }).toEqual({ selector, readable: true, ratio });
    }
    await dark.screenshot({ path: "test-results/dark.png" });

    // The admin page's table and form in the dark too.
    await dark.getByRole("link", { name: "Admin" }).click();
    await dark.locator("#audit-table tbody tr").first().waitFor({ timeout: 10_000 });
    const admin = await colours(dark, [
      "#audit-title",
      ".table th",
      ".table td",
      ".badge",
      ".field label",
      ".flag-title",
    ]);
    for (const [selector, ratio] of Object.entries(admin.contrast)) {
      expect({ selector, readable: ratio >= 4.5, ratio }).toEqual({ selector, readable: true, ratio });
    }
    await dark.context().close();
  });
});
