import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { describeApi } from "../http/openapi.js";

/** Where the dashboard's static files live: `packages/server/web`, the same distance from src/ and dist/. */
const WEB_ROOT = fileURLToPath(new URL("../../web/", import.meta.url));
/** uPlot ships its browser builds in `dist/`; served from our own origin, never from a CDN. */
const UPLOT_ROOT = dirname(createRequire(import.meta.url).resolve("uplot"));

export interface DashboardOptions {
  /** The tenant header's name (TENANT_ID_HEADER): the page must send it with every /api request. */
  tenantHeader: string;
  /** The telemetry write budget, shown to the page so that it can describe what it sees. */
  deviceWritesPerMinute?: number;
}

/** What `GET /dashboard/config.json` returns: the few server settings the page needs. */
export interface DashboardConfig {
  tenant_header: string;
  poll_interval_ms: number;
  chart_points: number;
}

/**
 * Serves the web dashboard at `/` (docs/design/dashboard.md): static HTML, CSS and ES modules without a build
 * step, uPlot from node_modules, and a small configuration document.
 *
 * @example
 * await app.register(dashboardPlugin, { tenantHeader: config.tenantHeader });
 */
export async function dashboardPlugin(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const config: DashboardConfig = {
    tenant_header: options.tenantHeader,
    // 5 s keeps a dashboard within the read budget (docs/design/dashboard.md) with the server's per-device
    // cache.
    poll_interval_ms: 5_000,
    chart_points: 100,
  };

  describeApi(app, { tags: { dashboard: "What the web dashboard needs from the server" } });
  const schema = {
    tags: ["dashboard"],
    summary: "The dashboard's settings: the tenant header, how often to poll, how many points to chart",
    response: {
      200: Type.Object({
        tenant_header: Type.String(),
        poll_interval_ms: Type.Integer(),
        chart_points: Type.Integer(),
      }),
    },
  };
  app.get("/dashboard/config.json", { schema }, async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return config;
  });

  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: "/",
    index: ["index.html"],
    wildcard: false,
    // The page is tiny; revalidating on every load keeps a deployed fix visible at once.
    cacheControl: true,
    maxAge: 0,
    decorateReply: false,
  });
  await app.register(fastifyStatic, {
    root: UPLOT_ROOT,
    prefix: "/vendor/uplot/",
    allowedPath: (path) => path === "/uPlot.esm.js" || path === "/uPlot.min.css",
    wildcard: false,
    decorateReply: false,
    maxAge: 86_400_000,
  });

  // Security headers for the HTML and its assets: no framing, no sniffing, and a CSP that allows nothing
  // off-origin, which also proves the page needs no external network.
  app.addHook("onSend", async (request, reply) => {
    if (request.url.startsWith("/api/")) return;
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    reply.header(
      "content-security-policy",
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
  });
}
