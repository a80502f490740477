/**
 * What a stored password hash is, for the migration report: `current` (Argon2id PHC), `legacy` (a salted
 * format the service verifies once and re-hashes: see auth/legacy-hashes.ts), `unsalted` (a bare digest:
 * refused, the user must reset), or `unknown` (refused).
 */
export type HashFormat = "current" | "legacy" | "unsalted" | "unknown";

const WERKZEUG =
  /^(?:pbkdf2:(?:sha1|sha224|sha256|sha384|sha512|md5)(?::\d+)?|scrypt(?::\d+){0,3}|sha1|sha224|sha256|sha384|sha512|md5)\$[^$]+\$[0-9a-f]+$/i;
const DJANGO = /^pbkdf2_(?:sha1|sha256)\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/;

export function classifyPasswordHash(hash: string): HashFormat {
  if (hash.startsWith("$argon2id$")) return "current";
  if (WERKZEUG.test(hash) || DJANGO.test(hash)) return "legacy";
  if (/^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$/i.test(hash)) return "unsalted";
  return "unknown";
}
