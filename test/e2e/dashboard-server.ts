import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { createPasswordHasher } from "../../packages/server/src/auth/passwords.js";
import {
  DEFAULT_BOOTSTRAP_CONFIG,
  reconcileBootstrapDocument,
} from "../../packages/server/src/bootstrap/index.js";
import { loadConfig } from "../../packages/server/src/config/env.js";
import { createLogger } from "../../packages/server/src/observability/logger.js";
import { type RunningServer, startServer } from "../../packages/server/src/server.js";
import { DEMO_LOGIN, ensureDemoAdmin } from "../../packages/server/src/simulator/demo-admin.js";
import { emulatorHost, uniqueProjectId } from "../firestore.js";
import { launchChromium } from "./browser.js";

/**
 * A real server for a browser test, on SQLite or with every area (and alarm state) on the Firestore emulator
 * in a project of its own, with the demo admin and the given extra users, and one Chromium for the file.
 */
export interface DashboardServer {
  server: RunningServer;
  /** A new page in a context of its own; a page error fails the test. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** Signs in on the sign-in form (the demo tenant). */
  signIn(page: Page, username: string, password: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDashboardServer(options: {
  store: "sqlite" | "firestore";
  users?: { username: string; password: string; role: "admin" | "operator" | "viewer" }[];
  /** More configuration, e.g. `FIREBRICK_WEBHOOK_ALLOW_PRIVATE` for a receiver on this machine. */
  env?: Record<string, string>;
}): Promise<DashboardServer> {
  const env: Record<string, string> = {
    FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-e2e-")),
    PORT: "0",
    FIREBRICK_LOG_LEVEL: "silent",
  };
  if (options.store === "firestore") {
    Object.assign(env, {
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("e2e-dashboard"),
      USE_FIRESTORE_AUTH: "1",
      USE_FIRESTORE_AUDIT: "1",
      USE_FIRESTORE_TELEMETRY: "1",
    });
  }
  const config = loadConfig({ ...env, ...options.env });
  // Cheap Argon2 parameters: the tests exercise the page, not the hashing cost.
  const passwords = createPasswordHasher({ params: { memoryCost: 1024, timeCost: 1, parallelism: 1 } });
  const server = await startServer(config, createLogger("silent"), { passwords, print: () => {} });
  if (server.stores.firestore) {
    await reconcileBootstrapDocument(server.stores.firestore, DEFAULT_BOOTSTRAP_CONFIG, { preflight: false });
  }
  const stores = server.stores.router.stores;
  await ensureDemoAdmin(stores, passwords);
  for (const user of options.users ?? []) {
    await stores.users.create(DEMO_LOGIN.tenant, {
      username: user.username,
      role: user.role,
      ...(await passwords.hash(user.password)),
    });
  }
  /** Launched by the first test that needs it: a missing Chromium then fails every test, none is skipped. */
  let browser: Promise<Browser> | undefined;
  return {
    server,
    async newPage(contextOptions = {}) {
      browser ??= launchChromium();
      const context = await (await browser).newContext({
        viewport: { width: 1440, height: 900 },
        ...contextOptions,
      });
      const page = await context.newPage();
      page.on("pageerror", (error) => {
        throw error;
      });
      return page;
    },
    async signIn(page, username, password) {
      await page.goto(server.url);
      await page.getByLabel("Tenant").fill(DEMO_LOGIN.tenant);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
    },
    async close() {
      await (await browser?.catch(() => null))?.close();
      await server.close();
    },
  };
}

/** Waits until the page shows the signed-in header. */
export async function signedIn(page: Page): Promise<void> {
  await page.locator(".session").waitFor({ state: "visible", timeout: 10_000 });
}
