/**
 * What a stored password hash is, for the migration: `current` (Argon2id PHC), `legacy` (a salted
 * format the service can verify once and re-hash), `unsalted` (refused: the user must reset), or
 * `unknown` (refused).
 */
export type HashFormat = "current" | "legacy" | "unsalted" | "unknown";

export function classifyPasswordHash(hash: string): HashFormat {
  if (hash.startsWith("$argon2id$")) return "current";
  if (/^pbkdf2:sha256:\d+\$[^$]+\$[0-9a-f]{64}$/.test(hash)) return "legacy";
  if (/^sha256\$[^$]+\$[0-9a-f]{64}$/.test(hash)) return "legacy";
  if (/^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i.test(hash)) return "unsalted";
  return "unknown";
}
