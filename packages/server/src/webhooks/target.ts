import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";

/** A webhook URL is at most this long: it is stored, shown and logged (without its query) often. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Addresses a tenant's webhook must not reach unless the operator allows it
 * (`FIREBRICK_WEBHOOK_ALLOW_PRIVATE`): this host, its networks, the cloud metadata server. A tenant
 * chooses the URL, so without this the service would probe its own network on a tenant's behalf.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** Whether an IP address (v4, v6, or v4 mapped into v6) is one a webhook must not reach. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Why a URL cannot be a webhook, or null if it can: http(s) only, bounded, no credentials in it, and
 * (unless `allowPrivate`) no host that names this machine or a private network. Names are checked again
 * when they are resolved at each attempt (`guardedLookup`), since DNS can answer differently later.
 */
export function refuseWebhookUrl(raw: string, allowPrivate: boolean): string | null {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url is not a valid absolute URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must be http or https";
  if (url.username || url.password) return "url must not carry credentials";
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0 ? isPrivateAddress(host) : PRIVATE_NAMES.test(host) || !host.includes(".")) {
    return "url must not point at a private or local address";
  }
  return null;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request` that refuses to connect to a private address (see `refuseWebhookUrl`),
 * whatever the name resolved to.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const allowed = allowPrivate ? list : list.filter((entry) => !isPrivateAddress(entry.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error(`${hostname} resolves to a private address`), {
          code: "EPRIVATE",
        });
        return callback(refused, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
