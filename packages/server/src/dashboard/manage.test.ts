import { describe, expect, it } from "vitest";
// The Manage and Account views' pure helpers: plain browser ES modules, run in Node unchanged.
import { generatePassword } from "../../web/js/manage-users.js";
import { describeClient } from "../../web/js/sessions-table.js";

describe("the Manage and Account views' helpers", () => {
  it("generates passwords of four groups of five, without look-alike characters, never twice the same", () => {
    const passwords = Array.from({ length: 200 }, generatePassword);
    for (const password of passwords) {
      expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{5}(-[A-HJ-NP-Za-km-z2-9]{5}){3}$/);
      // Long enough for the API's NewPassword (at least 12 characters).
      expect(password.length).toBeGreaterThanOrEqual(12);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });

  it("names a session's client by browser family and system, as a person says it", () => {
    const chrome =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";
    const edge =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0";
    const safari =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    expect(describeClient(chrome)).toBe("Chrome on Linux");
    expect(describeClient(edge)).toBe("Edge on Windows");
    expect(describeClient(safari)).toBe("Safari on iOS");
    expect(describeClient("curl/8.5.0")).toBe("curl");
    expect(describeClient("lightMyRequest")).toBe("Other client");
    expect(describeClient(null)).toBe("Unknown client");
  });
});
