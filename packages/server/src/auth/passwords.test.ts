import { createHash, createHmac, pbkdf2Sync, scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { concurrencyLimit } from "./concurrency.js";
import { verifyLegacyHash } from "./legacy-hashes.js";
import { createPasswordHasher } from "./passwords.js";

const cheap = () => createPasswordHasher({ params: { memoryCost: 1024, timeCost: 1, parallelism: 1 } });

describe("password hashing", () => {
  it("hashes with Argon2id at m = 64 MiB, t = 3, p = 1 by default, with a per-hash salt and its params stored", async () => {
    const passwords = createPasswordHasher();
    const [a, b] = [await passwords.hash("same password"), await passwords.hash("same password")];
    expect(a.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=1\$/);
    expect(a.algo_params).toEqual({ algorithm: "argon2id", m: 65536, t: 3, p: 1 });
    expect(a.password_hash).not.toBe(b.password_hash);
    expect(await passwords.check(a, "same password")).toBe("ok");
    expect(await passwords.check(a, "other password")).toBe("mismatch");
  });

  it("asks for a re-hash when a stored Argon2id hash is cheaper than the current cost", async () => {
    const weak = await cheap().hash("pw");
    expect(await createPasswordHasher().check(weak, "pw")).toBe("ok_rehash");
  });

  it("runs at most `concurrency` hashes at once", async () => {
    let running = 0;
    let peak = 0;
    const limited = concurrencyLimit(2);
    await Promise.all(
      Array.from({ length: 8 }, () =>
        limited(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setImmediate(resolve));
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(2);
  });

  it("reports how many hashes wait for a slot (the login hashing queue depth)", async () => {
    const passwords = cheap();
    const pending = Array.from({ length: 5 }, (_, i) => passwords.hash(`pw${i}`));
    expect(passwords.queueDepth()).toBe(3); // two hashing (the default limit), three queued
    await Promise.all(pending);
    expect(passwords.queueDepth()).toBe(0);
  });
});

describe("legacy hashes", () => {
  const password = "legacy secret";
  const hex = (buffer: Buffer) => buffer.toString("hex");

  it.each([
    ["Werkzeug pbkdf2", `pbkdf2:sha256:1000$salty$${hex(pbkdf2Sync(password, "salty", 1000, 32, "sha256"))}`],
    [
      "Werkzeug scrypt",
      `scrypt:1024:8:1$salty$${hex(scryptSync(password, "salty", 64, { N: 1024, r: 8, p: 1 }))}`,
    ],
    [
      "old Werkzeug salted HMAC",
      `sha256$salty$${createHmac("sha256", "salty").update(password).digest("hex")}`,
    ],
    [
      "Django pbkdf2",
      `pbkdf2_sha256$1000$salty$${pbkdf2Sync(password, "salty", 1000, 32, "sha256").toString("base64")}`,
    ],
  ])("verifies a salted %s hash, and rejects a wrong password", async (_name, stored) => {
    expect(await verifyLegacyHash(stored, password)).toBe("match");
    expect(await verifyLegacyHash(stored, "not it")).toBe("mismatch");
    expect(
      await cheap().check(
        { password_hash: stored, algo_params: { algorithm: "legacy" }, needs_rehash: true },
        password,
      ),
    ).toBe("ok_rehash");
  });

  it.each([
    ["a bare SHA-256 digest", createHash("sha256").update(password).digest("hex")],
    ["a bare MD5 digest", createHash("md5").update(password).digest("hex")],
    [
      "Werkzeug with an empty salt",
      `pbkdf2:sha256:1000$$${hex(pbkdf2Sync(password, "", 1000, 32, "sha256"))}`,
    ],
    ["plain text", `plain$$${password}`],
    ["an unknown format", "$2b$12$abcdefghijklmnopqrstuuC6Bd5Ffw1m5g7nJmU0vZ2a7R0tyqk7a"],
  ])("refuses %s even with the right password", async (_name, stored) => {
    expect(await verifyLegacyHash(stored, password)).toBe("refused");
  });
});
