import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSecretKey, sanitizeLogObject, sanitizeUrl, scrubText } from "./log-policy.js";

describe("the log policy", () => {
  it("treats token, password, hash and credential keys as secret in any spelling, and ids and times as not", () => {
    for (const key of [
      "password",
      "new_password",
      "password_hash",
      "token",
      "sessionToken",
      "device-token",
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ["token_hash", "hash", "Authorization", "cookie", "set-cookie", "client_secret"]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ["id", "device_id", "tenant_id", "token_rotated_at", "request_id", "reads"]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it("redacts tokens, SHA-256 ids and password hashes inside free text, and leaves ids and words alone", () => {
    const token = randomBytes(32).toString("base64url");
    const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const uuid = randomUUID();
    const text = `session ${token} doc sessions/${sha} phc $argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA device ${uuid}`;
    const clean = scrubText(text);
    expect(clean).not.toContain(token);
    expect(clean).not.toContain(sha);
    expect(clean).not.toContain("$argon2id$");
    expect(clean).toContain(uuid);
    expect(scrubText("firebrick_store_breaker_rejections_total rose")).toBe(
      "firebrick_store_breaker_rejections_total rose",
    );
    expect(scrubText("Authorization: Bearer abc.def")).toBe("Authorization: [redacted]");
  });

  it("masks usernames and redacts secrets at any depth, returning the same object when nothing changes", () => {
    const clean = { a: { b: [{ c: "fine" }] }, n: 3 };
    expect(sanitizeLogObject(clean)).toBe(clean);
    expect(
      sanitizeLogObject({ a: { b: [{ username: "rosalind", deeper: { password: "pw", ok: 1 } }] } }),
    ).toEqual({ a: { b: [{ username: "r***", deeper: { password: "[redacted]", ok: 1 } }] } });
  });

  it("redacts secret query parameters and masks username ones", () => {
    expect(sanitizeUrl("/reset?token=abc&x=1&username=rosalind&flag")).toBe(
      "/reset?token=[redacted]&x=1&username=r***&flag",
    );
    expect(sanitizeUrl("/api/devices/d1/telemetry?limit=100")).toBe("/api/devices/d1/telemetry?limit=100");
  });
});
