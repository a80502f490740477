/**
 * What may appear in a log line (docs/design/observability.md, the plan's logging policy): no secret of any
 * kind, and usernames only masked. Applied by the logger to every line, at any depth, whatever the caller
 * passes.
 */

const REDACTED = "[redacted]";

// Keys are compared lower-cased with `_` and `-` removed, so `session_token`, `sessionToken` and
// `Session-Token` are one key.
const SECRET_KEYS = new Set(["hash", "authorization", "cookie", "setcookie", "apikey", "credentials", "phc"]);
const USERNAME_KEYS = new Set(["username", "login"]);
const MAX_DEPTH = 8;

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

/** Whether a value under this key is a secret that must never be logged. */
export function isSecretKey(key: string): boolean {
  const k = normalize(key);
  return (
    SECRET_KEYS.has(k) ||
    k.includes("password") ||
    k.includes("secret") ||
    k.endsWith("token") ||
    k.endsWith("tokenhash") ||
    k.endsWith("passwordhash")
  );
}

/**
 * A username as logs may show it: the first character and a fixed mask, so neither the name nor its
 * length is disclosed, yet an operator can tell "a***" from "b***" while reading one incident.
 *
 * @example
 * maskUsername("alice"); // "a***"
 */
export function maskUsername(username: string): string {
  const first = Array.from(username)[0];
  return first === undefined ? "" : `${first}***`;
}

// Secrets whatever their key, also inside longer text (error messages carry document paths, and a
// session's document id is the SHA-256 of its token): a bearer credential, a SHA-256 in hex, a PHC
// password hash.
const SECRET_TEXT =
  /\bbearer\s+[^\s"',;]+|(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])|\$(?:argon2(?:id|i|d)|scrypt|pbkdf2[-a-z0-9]*|2[aby])\$[^\s"',;]+/gi;

// An opaque token (256 random bits in base64url: 43 characters) quoted in free text: a run of 32 or
// more base64url characters that mixes upper case, lower case and digits. Ids (UUIDs), words and
// paths are shorter runs or lack the mix.
const OPAQUE_RUN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g;
const looksRandom = (run: string) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);

/** The text with every secret-looking run replaced by "[redacted]". */
export function scrubText(text: string): string {
  SECRET_TEXT.lastIndex = 0;
  let clean = SECRET_TEXT.test(text) ? text.replace(SECRET_TEXT, REDACTED) : text;
  OPAQUE_RUN.lastIndex = 0;
  if (OPAQUE_RUN.test(clean)) clean = clean.replace(OPAQUE_RUN, (run) => (looksRandom(run) ? REDACTED : run));
  return clean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Returns the object with secrets replaced by "[redacted]" and usernames masked, at any depth of plain
 * objects and arrays; the same reference when nothing had to change (the common case costs no copy).
 */
export function sanitizeLogObject(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const clean = sanitizeLogObject(item, depth + 1);
      if (clean !== item) {
        copy ??= value.slice();
        copy[index] = clean;
      }
    });
    return copy ?? value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    let clean: unknown;
    if (isSecretKey(key)) clean = item === undefined || item === null ? item : REDACTED;
    else if (USERNAME_KEYS.has(normalize(key)) && typeof item === "string") clean = maskUsername(item);
    else clean = sanitizeLogObject(item, depth + 1);
    if (clean !== item) {
      copy ??= { ...value };
      copy[key] = clean;
    }
  }
  return copy ?? value;
}

/** A URL with the values of secret-looking query parameters redacted. */
export function sanitizeUrl(url: string): string {
  const queryStart = url.indexOf("?");
  if (queryStart < 0) return url;
  const query = url
    .slice(queryStart + 1)
    .split("&")
    .map((pair) => {
      if (!pair.includes("=")) return pair;
      const name = decodeURIComponentSafe(pair.split("=", 1)[0] ?? "");
      if (isSecretKey(name)) return `${pair.split("=", 1)[0]}=${REDACTED}`;
      if (USERNAME_KEYS.has(normalize(name))) {
        const raw = pair.slice(pair.indexOf("=") + 1);
        return `${pair.split("=", 1)[0]}=${encodeURIComponent(maskUsername(decodeURIComponentSafe(raw)))}`;
      }
      return pair;
    })
    .join("&");
  return `${url.slice(0, queryStart)}?${query}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
