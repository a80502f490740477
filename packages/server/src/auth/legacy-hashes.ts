import { createHmac, pbkdf2, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: string,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/**
 * What a legacy (pre-Argon2) hash imported from the old SQLite database says about a password:
 * - `match` / `mismatch`: a salted format we can verify;
 * - `refused`: unsalted (or plain text) or a format we cannot check; the account needs a password reset.
 *
 * Formats verified (the ones the legacy Flask app and its Werkzeug/Django helpers produced):
 * `pbkdf2:<digest>[:<iterations>]$<salt>$<hex>` and `scrypt:<N>:<r>:<p>$<salt>$<hex>` (Werkzeug ≥ 0.9),
 * `<digest>$<salt>$<hex>` (old Werkzeug salted HMAC), `pbkdf2_<digest>$<iterations>$<salt>$<base64>`
 * (Django). Refused: bare hex digests, `plain$…`, any of the above with an empty salt, anything else.
 */
export type LegacyVerdict = "match" | "mismatch" | "refused";

const DIGESTS = new Set(["sha1", "sha224", "sha256", "sha384", "sha512", "md5"]);
const MAX_ITERATIONS = 5_000_000;

export async function verifyLegacyHash(stored: string, password: string): Promise<LegacyVerdict> {
  const werkzeug = /^([a-z0-9:_]+)\$([^$]*)\$([0-9a-f]+)$/i.exec(stored);
  const django = /^pbkdf2_(sha1|sha256)\$(\d+)\$([^$]*)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (django) {
    const [, digest, iterations, salt, expected] = django as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (salt === "" || Number(iterations) < 1 || Number(iterations) > MAX_ITERATIONS) return "refused";
    const want = Buffer.from(expected, "base64");
    const got = await pbkdf2Async(password, salt, Number(iterations), want.length, digest);
    return equal(got, want) ? "match" : "mismatch";
  }
  if (!werkzeug) return "refused";
  const [, method, salt, hex] = werkzeug as unknown as [string, string, string, string];
  if (salt === "") return "refused";
  const want = Buffer.from(hex, "hex");
  const parts = method.toLowerCase().split(":");
  if (parts[0] === "pbkdf2") {
    const digest = parts[1] ?? "sha256";
    const iterations = Number(parts[2] ?? 260_000);
    if (
      !DIGESTS.has(digest) ||
      !Number.isInteger(iterations) ||
      iterations < 1 ||
      iterations > MAX_ITERATIONS
    ) {
      return "refused";
    }
    const got = await pbkdf2Async(password, salt, iterations, want.length, digest);
    return equal(got, want) ? "match" : "mismatch";
  }
  if (parts[0] === "scrypt") {
    const [n, r, p] = [Number(parts[1] ?? 32768), Number(parts[2] ?? 8), Number(parts[3] ?? 1)];
    const sane =
      [n, r, p].every(Number.isInteger) && n >= 2 && n <= 2 ** 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
    if (!sane) return "refused";
    const got = await scryptAsync(password, salt, want.length, {
      N: n,
      r,
      p,
      maxmem: 256 * n * r + 1024 * 1024,
    });
    return equal(got, want) ? "match" : "mismatch";
  }
  if (parts.length === 1 && DIGESTS.has(method.toLowerCase())) {
    const got = createHmac(method.toLowerCase(), salt).update(password).digest();
    return equal(got, want) ? "match" : "mismatch";
  }
  return "refused";
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}
