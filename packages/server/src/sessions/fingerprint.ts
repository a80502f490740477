import ipaddr from "ipaddr.js";

/**
 * The coarse fingerprint a session is bound to (docs/design/sessions.md): the user-agent family and the
 * client's IPv4 /24 or IPv6 /48. Coarse on purpose: a browser update or a DHCP renewal inside the same
 * network keeps the session, a stolen cookie replayed from another network or another client does not.
 *
 * @example
 * sessionFingerprint("Mozilla/5.0 … Chrome/120.0 Safari/537.36", "203.0.113.7") // "chrome|203.0.113.0/24"
 */
export function sessionFingerprint(
  userAgent: string | undefined | null,
  ip: string | undefined | null,
): string {
  return `${userAgentFamily(userAgent)}|${networkPrefix(ip)}`;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const FAMILIES: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, "edge"],
  [/\b(OPR|Opera)\//, "opera"],
  [/\bFirefox\/|\bFxiOS\//, "firefox"],
  [/\b(Chrome|Chromium|CriOS|HeadlessChrome)\//, "chrome"],
  [/\bSafari\//, "safari"],
];

export function userAgentFamily(userAgent: string | undefined | null): string {
  if (!userAgent) return "none";
  for (const [pattern, family] of FAMILIES) if (pattern.test(userAgent)) return family;
  // Scripts and tools: their product token ("curl/8.5.0" → "curl").
  const product = /^([A-Za-z][A-Za-z0-9._-]{0,31})\//.exec(userAgent);
  return product ? product[1]!.toLowerCase() : "other";
}

export function networkPrefix(ip: string | undefined | null): string {
  if (!ip || !ipaddr.isValid(ip)) return "unknown";
  let address = ipaddr.parse(ip);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
  }
  if (address.kind() === "ipv4") {
    const bytes = address.toByteArray();
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.0/24`;
  }
  const parts = (address as ipaddr.IPv6).parts;
  return `${parts
    .slice(0, 3)
    .map((part) => part.toString(16))
    .join(":")}::/48`;
}
