import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPasswordHasher } from "../../packages/server/src/auth/passwords.js";
import { loadConfig } from "../../packages/server/src/config/env.js";
import { createLogger } from "../../packages/server/src/observability/logger.js";
import { type RunningServer, startServer } from "../../packages/server/src/server.js";
import { DEMO_LOGIN, ensureDemoAdmin } from "../../packages/server/src/simulator/demo-admin.js";
import { launchChromium } from "./browser.js";

/**
 * The dashboard's history view (docs/design/trends.md) in headless Chromium against the real server on
 * SQLite: ranges drawn from the aggregate API (average and min–max band), the CSV download, Live again,
 * and the tenant's time zone set by its admin. Screenshots: test-results/history-*.png (committed copies
 * under docs/ with UPDATE_DASHBOARD_SCREENSHOT=1).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DEVICE = "AHU-3 Damper";

let server: RunningServer;
let browser: Promise<Browser> | undefined;
let deviceId: string;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "firebrick-e2e-history-"));
  const config = loadConfig({ FIREBRICK_DATA_DIR: dataDir, PORT: "0", FIREBRICK_LOG_LEVEL: "silent" });
  const passwords = createPasswordHasher({ params: { memoryCost: 1024, timeCost: 1, parallelism: 1 } });
  server = await startServer(config, createLogger("silent"), { passwords, print: () => {} });
  const stores = server.stores.router.stores;
  await ensureDemoAdmin(stores, passwords);
  deviceId = (await stores.devices.create(DEMO_LOGIN.tenant, { name: DEVICE, token_hash: "e2e-unused" })).id;
  // 8 days, a point every 10 minutes: a damper between 4 and 7 % and a zone temperature, with a daily cycle.
  const now = Date.now();
  const points = Array.from({ length: (8 * DAY) / (10 * MINUTE) }, (_, i) => {
    const t = now - 8 * DAY + i * 10 * MINUTE;
    const phase = ((t % DAY) / DAY) * 2 * Math.PI;
    return {
      timestamp_ms: t,
      metrics: {
        damper_pct: Math.round((5.5 + 1.4 * Math.sin(phase) + ((i * 7) % 5) / 20) * 10) / 10,
        zone_temp_c: Math.round((21.5 + 1.5 * Math.sin(phase - 1) + ((i * 3) % 7) / 30) * 100) / 100,
      },
    };
  });
  for (let i = 0; i < points.length; i += 500) {
    await stores.telemetry.append(DEMO_LOGIN.tenant, deviceId, points.slice(i, i + 500));
  }
}, 60_000);

afterAll(async () => {
  await (await browser?.catch(() => null))?.close();
  await server?.close();
});

async function signedInPage(): Promise<Page> {
  browser ??= launchChromium();
  const context = await (await browser).newContext({
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    timezoneId: "Europe/Paris",
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    throw error;
  });
  await page.goto(server.url);
  await page.getByLabel("Tenant").fill(DEMO_LOGIN.tenant);
  await page.getByLabel("Username").fill(DEMO_LOGIN.username);
  await page.getByLabel("Password").fill(DEMO_LOGIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.locator("#device-list button").count(), { timeout: 10_000 }).toBe(1);
  return page;
}

function shot(page: Page, name: string) {
  mkdirSync(join(process.cwd(), "test-results"), { recursive: true });
  const path = join(process.cwd(), "test-results", `${name}.png`);
  return page.screenshot({ path }).then(() => {
    if (process.env.UPDATE_DASHBOARD_SCREENSHOT === "1") copyFileSync(path, `docs/${name}.png`);
  });
}

describe("dashboard history in headless Chromium", () => {
  it("draws 7 days and 90 days from the aggregate API, downloads the CSV, and goes back to Live", async () => {
    const page = await signedInPage();
    const aggregates: URL[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith("/telemetry/aggregate")) aggregates.push(url);
    });
    await page.getByRole("button", { name: new RegExp(DEVICE) }).click();
    await page.locator("#chart canvas").waitFor({ timeout: 10_000 });

    await page.getByText("7 d", { exact: true }).click();
    await page.locator("#history-chart canvas").waitFor({ timeout: 10_000 });
    expect(await page.locator("#chart").isHidden()).toBe(true);
    await expect
      .poll(() => page.locator('[data-bind="chart-subtitle"]').textContent())
      .toContain("15m buckets");
    const last = aggregates.at(-1)!;
    expect(last.searchParams.get("interval")).toBe("15m");
    expect(Number(last.searchParams.get("to")) - Number(last.searchParams.get("from"))).toBe(7 * DAY);
    // The damper, with its unit: the band's legend and the range's statistics.
    await page.getByText("Damper (%)").click();
    await expect
      .poll(() => page.locator("#history-chart .u-legend .u-series .u-label").allTextContents())
      .toEqual(
        ["Time", "Average Damper (%)", "Minimum", "Maximum"].map((label) => expect.stringContaining(label)),
      );
    await expect
      .poll(() => page.locator("#stats").textContent())
      .toMatch(/^Minimum\d%Average\d%Maximum\d%Readings1,00[0-9]$/);
    await shot(page, "history-7d");

    await page.getByText("90 d", { exact: true }).click();
    await expect.poll(() => aggregates.at(-1)?.searchParams.get("interval")).toBe("1d");
    await expect
      .poll(() => page.locator('[data-bind="chart-subtitle"]').textContent())
      .toContain("1d buckets");
    // Eight days of data: at most nine daily buckets (the first and the last partial), all drawn.
    await expect.poll(() => page.locator("#stats dd").last().textContent()).toBe("1,152");
    await page.getByText("Zone temperature (°C)").click();
    await page.locator("#history-chart canvas").waitFor();
    await shot(page, "history-90d");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8").split("\r\n");
    expect(csv[0]).toBe(
      "start_utc,start_ms,damper_pct.avg,damper_pct.min,damper_pct.max,damper_pct.sum,damper_pct.count,damper_pct.first,damper_pct.last," +
        "zone_temp_c.avg,zone_temp_c.min,zone_temp_c.max,zone_temp_c.sum,zone_temp_c.count,zone_temp_c.first,zone_temp_c.last",
    );
    expect(csv.filter((line) => line).length).toBeGreaterThanOrEqual(9);

    await page.locator("label[for=range-live]").click();
    await page.locator("#chart canvas").waitFor({ timeout: 10_000 });
    expect(await page.locator("#history-chart").isHidden()).toBe(true);
    await expect
      .poll(() => page.locator('[data-bind="live-status"]').textContent(), { timeout: 10_000 })
      .toContain("Live");
    await page.context().close();
  });

  it("shows a custom range, and says so when it holds no readings", async () => {
    const page = await signedInPage();
    await page.getByRole("button", { name: new RegExp(DEVICE) }).click();
    await page.getByText("Custom", { exact: true }).click();
    const local = (ms: number) => new Date(ms + 3600_000 * 1).toISOString().slice(0, 16);
    // Paris in winter is UTC+1 (the page's zone): 20 days ago, for a day.
    await page.locator("#custom-from").fill(local(Date.now() - 20 * DAY));
    await page.locator("#custom-to").fill(local(Date.now() - 19 * DAY));
    await page.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => page.locator("#chart-empty").textContent()).toBe("No readings in this range.");
    await page.locator("#custom-from").fill(local(Date.now() - 2 * DAY));
    await page.locator("#custom-to").fill(local(Date.now() - DAY));
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator("#history-chart canvas").waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator('[data-bind="chart-subtitle"]').textContent())
      .toContain("5m buckets");
    await page.context().close();
  });

  it("lets the admin set the tenant's time zone for daily buckets, refusing a name that is not one", async () => {
    const page = await signedInPage();
    await page.getByRole("link", { name: "Admin" }).click();
    const zone = page.getByLabel("Time zone", { exact: true });
    await expect.poll(() => zone.inputValue(), { timeout: 10_000 }).toBe("UTC");
    await zone.fill("Mars/Olympus_Mons");
    await page.getByRole("button", { name: "Save time zone" }).click();
    await expect
      .poll(() => page.locator("#banner, [role=alert]").allTextContents())
      .toContainEqual(expect.stringContaining("time zone"));
    await zone.fill("Asia/Kolkata");
    await page.getByRole("button", { name: "Save time zone" }).click();
    await expect
      .poll(() => page.locator('[data-bind="zone-status"]').textContent())
      .toBe("Saved: Asia/Kolkata");
    expect((await server.stores.router.stores.tenants.get(DEMO_LOGIN.tenant))?.time_zone).toBe(
      "Asia/Kolkata",
    );
    await page.context().close();
  });
});
