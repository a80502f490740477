import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { dashboardPlugin } from "./plugin.js";

async function app() {
  const instance = Fastify();
  await instance.register(dashboardPlugin, { tenantHeader: "x-site-tenant" });
  await instance.ready();
  return instance;
}

describe("dashboard plugin", () => {
  it("serves the page at / with a same-origin-only content security policy", async () => {
    const server = await app();
    const response = await server.inject({ method: "GET", url: "/" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/html");
    expect(response.body).toContain('<script type="module" src="/js/app.js">');
    expect(response.headers["content-security-policy"]).toContain("default-src 'self'");
    // No CDN: every script and stylesheet the page names is on our own origin.
    for (const [, url] of response.body.matchAll(/(?:src|href)="([^"#]+)"/g)) expect(url).toMatch(/^\//);
  });

  it("exposes the configured tenant header name and the poll interval to the page", async () => {
    const server = await app();
    const response = await server.inject({ method: "GET", url: "/dashboard/config.json" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      tenant_header: "x-site-tenant",
      poll_interval_ms: 5000,
      chart_points: 100,
    });
  });

  it("serves uPlot's ES module and stylesheet from node_modules, and nothing else from there", async () => {
    const server = await app();
    const script = await server.inject({ method: "GET", url: "/vendor/uplot/uPlot.esm.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toContain("javascript");
    expect(script.body).toContain("export");
    const css = await server.inject({ method: "GET", url: "/vendor/uplot/uPlot.min.css" });
    expect(css.statusCode).toBe(200);
    const other = await server.inject({ method: "GET", url: "/vendor/uplot/uPlot.cjs.js" });
    expect(other.statusCode).toBe(404);
  });

  it("serves every module the page imports", async () => {
    const server = await app();
    for (const file of [
      "app.js",
      "api.js",
      "dom.js",
      "live.js",
      "admin.js",
      "chart.js",
      "format.js",
      "poller.js",
    ]) {
      const response = await server.inject({ method: "GET", url: `/js/${file}` });
      expect(response.statusCode, file).toBe(200);
      expect(response.headers["content-type"], file).toContain("javascript");
    }
    expect((await server.inject({ method: "GET", url: "/styles.css" })).statusCode).toBe(200);
    expect((await server.inject({ method: "GET", url: "/js/../../package.json" })).statusCode).toBe(404);
  });
});
