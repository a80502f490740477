import { describe, expect, it } from "vitest";
import { networkPrefix, sessionFingerprint, userAgentFamily } from "./fingerprint.js";

describe("session fingerprint", () => {
  it.each([
    [
      "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
      "chrome",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
      "edge",
    ],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "firefox"],
    [
      "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
      "safari",
    ],
    ["curl/8.5.0", "curl"],
    [undefined, "none"],
  ])("names the user-agent family of %s as %s", (userAgent, family) => {
    expect(userAgentFamily(userAgent)).toBe(family);
  });

  it("keeps IPv4 to the /24, IPv6 to the /48, and treats IPv4-mapped IPv6 as IPv4", () => {
    expect(networkPrefix("203.0.113.77")).toBe("203.0.113.0/24");
    expect(networkPrefix("::ffff:203.0.113.9")).toBe("203.0.113.0/24");
    expect(networkPrefix("2001:db8:abcd:12::1")).toBe("2001:db8:abcd::/48");
    expect(networkPrefix("not an ip")).toBe("unknown");
    expect(sessionFingerprint("curl/8", "10.1.2.3")).toBe("curl|10.1.2.0/24");
  });
});
