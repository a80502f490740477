import { describe, expect, it } from "vitest";
import { classifyPasswordHash } from "./password-formats.js";

describe("classifyPasswordHash", () => {
  it.each([
    ["$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "current"],
    [`pbkdf2:sha256:260000$abcd$${"a".repeat(64)}`, "legacy"],
    [`scrypt:32768:8:1$abcd$${"b".repeat(128)}`, "legacy"],
    [`sha256$abcd$${"c".repeat(64)}`, "legacy"],
    ["pbkdf2_sha256$600000$salt$aGFzaA==", "legacy"],
    ["5f4dcc3b5aa765d61d8327deb882cf99", "unsalted"],
    ["5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "unsalted"],
    [`sha256$$${"c".repeat(64)}`, "unknown"],
    ["plain$hunter2", "unknown"],
  ])("classifies %s as %s", (hash, format) => {
    expect(classifyPasswordHash(hash)).toBe(format);
  });
});
