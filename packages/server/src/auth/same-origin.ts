import type { FastifyRequest } from "fastify";

/** Methods that change state: a browser may send them cross-site with the session cookie attached. */
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Whether a state-changing request comes from a page of another origin (docs/design/sessions.md): the
 * defence in depth behind SameSite=Lax and the tenant header (which a cross-site form cannot send).
 * Browsers say where a request comes from in `Sec-Fetch-Site` and `Origin`; only `same-origin` and an
 * `Origin` naming the host the client used pass. A request with neither header is not a browser's (curl,
 * scripts, devices) and passes, as they carry no ambient cookie a third party could ride on.
 *
 * The host the client used is `Host`, or `X-Forwarded-Host` when the peer is a trusted proxy
 * (`FIREBRICK_TRUST_PROXY`, as Fastify's `request.host` reads it). The scheme is not compared: behind a
 * proxy that terminates TLS and is not configured as trusted, the service sees http where the page had
 * https, and a page can put this host in its `Origin` only if it is served from it.
 *
 * @example
 * if (isCrossOrigin(request)) throw new AppError("FORBIDDEN", "Cross-origin requests are refused.");
 */
export function isCrossOrigin(request: FastifyRequest): boolean {
  if (!STATE_CHANGING.has(request.method)) return false;
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  return !sameHost(origin, request.host);
}

function sameHost(origin: string, host: string): boolean {
  try {
    const page = new URL(origin);
    if (page.origin === "null" || !/^https?:$/.test(page.protocol)) return false;
    // Parsed with the page's scheme, so that an explicit default port (`:443`) compares equal.
    return page.host === new URL(`${page.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
