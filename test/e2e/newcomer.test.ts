import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirebrickApiClient } from "../../packages/server/src/simulator/api-client.js";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * What a newcomer found in the dashboard (issue 19), each in real Chromium against the real server on
 * SQLite: a phone-width header, the sign-out notice, a device with one reading, the dual-write flag's
 * name, refusals in the audit log, and the sign-in lockout's wait.
 */

const VIEWER = { username: "viewer", password: "viewer-password", role: "viewer" as const };
const LOCKED = { username: "forgetful", password: "forgetful-password", role: "viewer" as const };
const SINGLE = "Boiler room sensor";

let dashboard: DashboardServer;
let singleId: string;

beforeAll(async () => {
  dashboard = await startDashboardServer({ store: "sqlite", users: [VIEWER, LOCKED] });
  const api = new FirebrickApiClient({
    baseUrl: dashboard.server.url,
    tenant: DEMO_LOGIN.tenant,
    tenantHeader: "X-BAS-Tenant",
  });
  await api.login(DEMO_LOGIN.username, DEMO_LOGIN.password);
  const device = await api.createDevice(SINGLE);
  singleId = device.id;
  await api.postTelemetry(device.id, device.token, [
    { timestamp_ms: Date.now() - 5_000, metrics: { zone_temp_c: 19.5, co2_ppm: 720 } },
  ]);
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
});

/** The header's layout as numbers: the page's width, and whether each part lies inside the dark bar. */
async function headerLayout(page: Page) {
  return page.evaluate(() => {
    const bar = document.querySelector(".topbar")!.getBoundingClientRect();
    const inside = (selector: string) => {
      const box = document.querySelector(selector)!.getBoundingClientRect();
      return box.top >= bar.top && box.bottom <= bar.bottom && box.left >= bar.left && box.right <= bar.right;
    };
    return {
      pageWidth: document.documentElement.scrollWidth,
      usernameInBar: inside('[data-bind="username"]'),
      signOutInBar: inside('[data-action="logout"]'),
      tabsInBar: inside(".tabs"),
    };
  });
}

describe("what a newcomer found", () => {
  it("fits the page and its header into a 390 px wide phone, on the live and the admin page", async () => {
    const page = await dashboard.newPage({ viewport: { width: 390, height: 844 } });
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    await page.locator("#device-list button").first().waitFor({ timeout: 10_000 });
    await expect
      .poll(() => headerLayout(page))
      .toEqual({
        pageWidth: 390,
        usernameInBar: true,
        signOutInBar: true,
        tabsInBar: true,
      });
    await page.getByRole("link", { name: "Admin" }).click();
    await page.locator("#audit-table tbody tr").first().waitFor({ timeout: 10_000 });
    expect(await headerLayout(page)).toEqual({
      pageWidth: 390,
      usernameInBar: true,
      signOutInBar: true,
      tabsInBar: true,
    });
    await page.goto(`${dashboard.server.url}/#/live/${singleId}`);
    await page.locator("#reading-values").waitFor({ timeout: 10_000 });
    expect((await headerLayout(page)).pageWidth).toBe(390);
    await page.screenshot({ path: "test-results/mobile-390.png", fullPage: true });
    await page.context().close();
  });

  it("says 'You have signed out.' as a notice, not as an error", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, VIEWER.username, VIEWER.password);
    await signedIn(page);
    await page.getByRole("button", { name: "Sign out" }).click();
    const notice = page.getByRole("status").filter({ hasText: "You have signed out." });
    await notice.waitFor({ timeout: 10_000 });
    expect(await page.locator("#login-error").isVisible()).toBe(false);
    const colours = await page.evaluate(() => {
      const style = getComputedStyle(document.getElementById("login-notice")!);
      return { color: style.color, background: style.backgroundColor };
    });
    // The error's red text on pink (.form-error) is what a failure looks like.
    expect(colours.color).not.toBe("rgb(185, 28, 28)");
    expect(colours.background).not.toBe("rgb(254, 242, 242)");
    await page.context().close();
  });

  it("shows the values of a device that has sent one reading instead of an empty chart", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, VIEWER.username, VIEWER.password);
    await signedIn(page);
    await page.goto(`${dashboard.server.url}/#/live/${singleId}`);
    const values = page.locator("#reading-list");
    await expect
      .poll(() => values.locator("div").allTextContents(), { timeout: 10_000 })
      .toEqual(["Zone temperature19.5 °C", "CO₂720 ppm"]);
    expect(await page.locator("#chart").isVisible()).toBe(false);
    expect(await page.locator("#chart canvas").count()).toBe(0);
    await page.context().close();
  });

  it("names the telemetry dual-write flag in words, and shows what a refused request asked for", async () => {
    // A viewer opening the admin page is refused by the API: that is an authz.denied entry.
    const viewer = await dashboard.newPage();
    await dashboard.signIn(viewer, VIEWER.username, VIEWER.password);
    await signedIn(viewer);
    await viewer.goto(`${dashboard.server.url}/#/admin`);
    await viewer.getByRole("heading", { name: "Administrators only" }).waitFor({ timeout: 10_000 });
    await viewer.context().close();

    const page = await dashboard.newPage();
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    await page.getByRole("link", { name: "Admin" }).click();
    await expect
      .poll(() => page.locator("#flags-list .flag-title").allTextContents(), { timeout: 10_000 })
      .toContain("Telemetry written to both stores");
    expect(await page.locator("#flags-list").textContent()).not.toContain("telemetry_dual_write");

    await page.getByLabel("Action", { exact: true }).fill("authz.denied");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(() => page.locator("#audit-table tbody td:nth-child(5)").allTextContents(), { timeout: 10_000 })
      .toContain("GET /api/audit");
    await page.context().close();
  });

  it("says a sign-in lockout in minutes", async () => {
    const page = await dashboard.newPage();
    const error = page.locator("#login-error");
    let text = "";
    for (let attempt = 0; attempt < 10 && !text.startsWith("Too many"); attempt++) {
      await dashboard.signIn(page, LOCKED.username, "not the password");
      await expect.poll(() => error.textContent(), { timeout: 15_000 }).toMatch(/not right|Too many/);
      text = (await error.textContent()) ?? "";
      // The next attempt starts from a fresh form.
      await error.evaluate((element) => {
        element.textContent = "";
      });
    }
    // The wait is minutes (3 here, up to 15); formatWait is unit-tested with the 889 s the newcomer saw.
    expect(text).toMatch(/^Too many attempts\. Try again in about \d+ minutes?\.$/);
    await page.context().close();
  });
});
