import { copyFileSync, mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiRequestError, FirebrickApiClient } from "../../packages/server/src/simulator/api-client.js";
import { DEMO_LOGIN } from "../../packages/server/src/simulator/demo-admin.js";
import { colours } from "./colours.js";
import { type DashboardServer, signedIn, startDashboardServer } from "./dashboard-server.js";

/**
 * Managing devices, users and sessions from the browser (issue 19), in real Chromium against the real server
 * on SQLite and on the Firestore emulator. Screenshots: docs/devices-admin.png, docs/users-admin.png (SQLite
 * run, with UPDATE_DASHBOARD_SCREENSHOT=1).
 */

const VIEWER = { username: "viewer", password: "viewer-password", role: "viewer" as const };
const OPERATOR = { username: "omar", password: "operator-password", role: "operator" as const };

/** Keeps a screenshot as a test artifact, and in docs/ when asked to. */
async function screenshot(page: Page, name: string) {
  mkdirSync("test-results", { recursive: true });
  await page.screenshot({ path: `test-results/${name}` });
  if (process.env.UPDATE_DASHBOARD_SCREENSHOT === "1") copyFileSync(`test-results/${name}`, `docs/${name}`);
}

/** The status of a telemetry write with this token: 202 accepted, or the refusal's status. */
async function write(api: FirebrickApiClient, deviceId: string, token: string): Promise<number> {
  try {
    await api.postTelemetry(deviceId, token, [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 21.5 } }]);
    return 202;
  } catch (error) {
    if (error instanceof ApiRequestError) return error.status;
    throw error;
  }
}

/** Reloads the page and tells whether its session still holds (else the sign-in form is shown). */
async function stillSignedIn(page: Page): Promise<boolean> {
  await page.reload();
  await page.locator(".session:visible, #view-login:visible").first().waitFor({ timeout: 15_000 });
  return page.locator(".session").isVisible();
}

const cellsOf = (page: Page, table: string) =>
  page
    .locator(`#${table} tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) => [...row.children].slice(0, 3).map((cell) => cell.textContent?.trim() ?? "")),
    );

describe.each(["sqlite", "firestore"] as const)("managing from the browser on %s", (store) => {
  let dashboard: DashboardServer;
  let api: FirebrickApiClient;

  beforeAll(async () => {
    dashboard = await startDashboardServer({ store, users: [VIEWER, OPERATOR] });
    api = new FirebrickApiClient({
      baseUrl: dashboard.server.url,
      tenant: DEMO_LOGIN.tenant,
      tenantHeader: "X-BAS-Tenant",
    });
    await api.login(DEMO_LOGIN.username, DEMO_LOGIN.password);
    await api.createDevice("Boiler room sensor");
  }, 60_000);

  afterAll(async () => {
    await dashboard?.close();
  });

  it("registers a device and shows its token once with a copy button; rotates it (the old token is refused), renames and deletes it", async () => {
    const page = await dashboard.newPage({ permissions: ["clipboard-read", "clipboard-write"] });
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    await page.getByRole("link", { name: "Manage" }).click();
    await expect.poll(() => cellsOf(page, "manage-devices-table"), { timeout: 15_000 }).toHaveLength(1);

    // Scoped to the create form: a device's own settings (below its chart) have Site and Floor fields too.
    const createForm = page.locator("#device-create-form");
    await createForm.getByLabel("Name", { exact: true }).fill("AHU-7 Return");
    await createForm.getByLabel("Site").fill("HQ");
    await createForm.getByLabel("Floor").fill("L7");
    await page.getByRole("button", { name: "Create device" }).click();
    const panel = page.getByRole("dialog", { name: "AHU-7 Return is registered" });
    await panel.waitFor({ timeout: 15_000 });
    expect(await panel.textContent()).toContain("It will not be shown again.");
    const token = await panel.getByRole("textbox").inputValue();
    expect(token).toMatch(/^\S{40,}$/);
    await panel.getByRole("button", { name: "Copy" }).click();
    await expect
      .poll(() => panel.locator('[data-bind="secret-copy-status"]').textContent())
      .toBe("Copied to the clipboard.");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await expect
      .poll(() => cellsOf(page, "manage-devices-table"), { timeout: 15_000 })
      .toContainEqual(["AHU-7 Return", "HQ · L7", "never seen"]);
    if (store === "sqlite") await screenshot(page, "devices-admin.png");
    await panel.getByRole("button", { name: "Done" }).click();
    // Gone from the page once the panel is left, and the focus is back where the admin was.
    await expect.poll(() => page.locator("#secret-value").inputValue(), { timeout: 5_000 }).toBe("");
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 5_000 })
      .toBe("device-create-name");

    const deviceId = await page
      .locator("#manage-devices-table tbody tr", { hasText: "AHU-7 Return" })
      .getAttribute("data-id");
    expect(await write(api, deviceId!, token)).toBe(202);

    await page.getByRole("button", { name: "Rotate the token of AHU-7 Return" }).click();
    await page
      .getByRole("dialog", { name: "Rotate the token of AHU-7 Return?" })
      .getByRole("button", { name: "Rotate token" })
      .click();
    const rotated = page.getByRole("dialog", { name: "New token for AHU-7 Return" });
    await rotated.waitFor({ timeout: 15_000 });
    const newToken = await rotated.getByRole("textbox").inputValue();
    expect(newToken).not.toBe(token);
    await rotated.getByRole("button", { name: "Done" }).click();
    expect(await write(api, deviceId!, token)).toBe(401);
    expect(await write(api, deviceId!, newToken)).toBe(202);

    await page.getByRole("button", { name: "Rename AHU-7 Return" }).click();
    const rename = page.getByRole("dialog", { name: "Rename AHU-7 Return" });
    await rename.getByLabel("New name").fill("AHU-7 Exhaust");
    await rename.getByRole("button", { name: "Rename" }).click();
    await expect
      .poll(() => cellsOf(page, "manage-devices-table"), { timeout: 15_000 })
      .toContainEqual(["AHU-7 Exhaust", "HQ · L7", expect.stringMatching(/^online, seen/)]);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")), { timeout: 5_000 })
      .toBe("Rename AHU-7 Exhaust");

    await page.getByRole("button", { name: "Delete AHU-7 Exhaust" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete AHU-7 Exhaust?" });
    expect(await confirm.textContent()).toContain("AHU-7 Exhaust will be deleted");
    await confirm.getByRole("button", { name: "Delete AHU-7 Exhaust" }).click();
    await expect.poll(() => cellsOf(page, "manage-devices-table"), { timeout: 15_000 }).toHaveLength(1);
    expect(await write(api, deviceId!, newToken)).toBe(401);
    await page.context().close();
  });

  it("offers the Manage view to admins only, and the server refuses the others anyway", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, VIEWER.username, VIEWER.password);
    await signedIn(page);
    expect(await page.getByRole("link", { name: "Manage" }).count()).toBe(0);
    await page.goto(`${dashboard.server.url}/#/manage`);
    await signedIn(page);
    expect(await page.locator("#view-manage").isVisible()).toBe(false);
    const status = await page.evaluate(
      async () =>
        (
          await fetch("/api/devices", {
            method: "POST",
            headers: { "content-type": "application/json", "x-bas-tenant": "demo" },
            body: JSON.stringify({ name: "sneaky" }),
          })
        ).status,
    );
    expect(status).toBe(403);
    await page.context().close();
  });

  it("creates a user with a generated password shown once; a role change, a password reset and an ended session each sign the user out of their browser; deletes the user", async () => {
    const page = await dashboard.newPage();
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    await page.getByRole("link", { name: "Manage" }).click();
    await page.locator("#manage-users-table tbody tr").first().waitFor({ timeout: 15_000 });

    await page.locator("#user-create-username").fill("nadia");
    await page.getByRole("button", { name: "Create user" }).click();
    const panel = page.getByRole("dialog", { name: "nadia can sign in" });
    await panel.waitFor({ timeout: 15_000 });
    expect(await panel.textContent()).toContain("It will not be shown again.");
    const password = await panel.getByRole("textbox").inputValue();
    expect(password).toMatch(/^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
    await panel.getByRole("button", { name: "Done" }).click();
    // The dialog's close event, which puts focus back, fires a task after the click.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 5_000 })
      .toBe("user-create-username");
    const role = page.getByLabel("Role of nadia", { exact: true });
    await role.waitFor({ timeout: 15_000 });
    expect(await role.inputValue()).toBe("viewer");

    // Nadia, in a browser of her own.
    const nadia = await dashboard.newPage();
    await dashboard.signIn(nadia, "nadia", password);
    await signedIn(nadia);
    expect(await nadia.locator('[data-bind="role"]').textContent()).toBe("viewer");
    expect(await nadia.getByRole("link", { name: "Manage" }).count()).toBe(0);

    await role.selectOption("operator");
    await page.getByRole("button", { name: "Save the role of nadia" }).click();
    await page
      .getByRole("dialog", { name: "Make nadia an operator?" })
      .getByRole("button", { name: "Make operator" })
      .click();
    await expect.poll(() => stillSignedIn(nadia), { timeout: 15_000 }).toBe(false);
    await dashboard.signIn(nadia, "nadia", password);
    await signedIn(nadia);
    expect(await nadia.locator('[data-bind="role"]').textContent()).toBe("operator");

    await page.getByRole("button", { name: "Reset the password of nadia" }).click();
    const reset = page.getByRole("dialog", { name: "Reset the password of nadia" });
    await reset.getByLabel("New password").fill("short");
    await reset.getByRole("button", { name: "Reset password" }).click();
    await expect
      .poll(() => reset.getByRole("alert").textContent(), { timeout: 5_000 })
      .toBe("A password needs at least 12 characters.");
    await reset.getByLabel("New password").fill("nadia-second-password");
    await reset.getByRole("button", { name: "Reset password" }).click();
    await reset.waitFor({ state: "hidden", timeout: 15_000 });
    expect(await stillSignedIn(nadia)).toBe(false);
    await dashboard.signIn(nadia, "nadia", password);
    await nadia.locator("#login-error").waitFor({ timeout: 15_000 });
    await dashboard.signIn(nadia, "nadia", "nadia-second-password");
    await signedIn(nadia);

    await page.getByRole("button", { name: "Sessions of nadia" }).click();
    const sessions = page.getByRole("dialog", { name: "Sessions of nadia" });
    await expect
      .poll(() => cellsOf(page, "user-sessions table"), { timeout: 15_000 })
      .toEqual([["Chrome on Linux", "127.0.0.1", expect.any(String)]]);
    if (store === "sqlite") {
      await page.locator("#manage-users-title").evaluate((heading) => heading.scrollIntoView());
      await screenshot(page, "users-admin.png");
    }
    await sessions.getByRole("button", { name: "End the session of nadia on this client" }).click();
    await expect.poll(() => sessions.textContent(), { timeout: 15_000 }).toContain("No sessions");
    expect(await stillSignedIn(nadia)).toBe(false);
    await sessions.getByRole("button", { name: "Close" }).click();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")), { timeout: 5_000 })
      .toBe("Sessions of nadia");

    await page.getByRole("button", { name: "Delete nadia" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete nadia?" });
    expect(await confirm.textContent()).toContain(
      "nadia is signed out everywhere and can no longer sign in.",
    );
    await confirm.getByRole("button", { name: "Delete nadia" }).click();
    await expect
      .poll(() => page.getByLabel("Role of nadia", { exact: true }).count(), { timeout: 15_000 })
      .toBe(0);
    // An admin cannot delete themselves: the page does not offer it.
    expect(await page.getByRole("button", { name: `Delete ${DEMO_LOGIN.username}` }).count()).toBe(0);
    await nadia.context().close();
    await page.context().close();
  });

  it("shows every user their own sessions: ending another one signs that browser out, ending this one signs out here", async () => {
    const laptop = await dashboard.newPage();
    await dashboard.signIn(laptop, OPERATOR.username, OPERATOR.password);
    await signedIn(laptop);
    const phone = await dashboard.newPage();
    await dashboard.signIn(phone, OPERATOR.username, OPERATOR.password);
    await signedIn(phone);

    await laptop.getByRole("link", { name: /your sessions/ }).click();
    const rows = laptop.locator("#account-sessions tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    expect(await rows.first().textContent()).toContain("this session");
    await laptop.getByRole("button", { name: "End this session of yours" }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(1);
    expect(await stillSignedIn(phone)).toBe(false);

    await laptop.getByRole("button", { name: "Sign out of this session" }).click();
    await laptop.locator("#view-login").waitFor({ timeout: 15_000 });
    expect(await laptop.locator("#login-notice").textContent()).toBe("You have signed out.");
    expect(await stillSignedIn(laptop)).toBe(false);
    await laptop.context().close();
    await phone.context().close();
  });

  it("fits the Manage and Account pages into a 390 px phone in the dark theme, every text readable", async () => {
    const page = await dashboard.newPage({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await dashboard.signIn(page, DEMO_LOGIN.username, DEMO_LOGIN.password);
    await signedIn(page);
    await page.getByRole("link", { name: "Manage" }).click();
    await page.locator("#manage-users-table tbody tr").first().waitFor({ timeout: 15_000 });
    await page.locator("#manage-devices-table tbody tr").first().waitFor({ timeout: 15_000 });
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    expect(await width()).toBe(390);
    const readable = async (selectors: string[]) => {
      for (const [selector, ratio] of Object.entries((await colours(page, selectors)).contrast))
        expect({ selector, readable: ratio >= 4.5, ratio }).toEqual({ selector, readable: true, ratio });
    };
    await readable([
      "#manage-devices-title",
      ".manage-location legend",
      "#manage-devices-table td",
      ".role-select",
      ".row-actions .button",
      ".row-actions .button-danger",
    ]);
    await page.getByRole("button", { name: "Rotate the token of Boiler room sensor" }).click();
    await readable(["#confirm-title", "#confirm-message", ".dialog-buttons .button-danger"]);
    await page.keyboard.press("Escape");
    await page.getByRole("link", { name: /your sessions/ }).click();
    await page.locator("#account-sessions tbody tr").first().waitFor({ timeout: 15_000 });
    expect(await width()).toBe(390);
    await readable(["#account-title", "#account-sessions td", ".current-marker"]);
    await page.context().close();
  });
});
