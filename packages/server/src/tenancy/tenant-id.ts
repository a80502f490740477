/**
 * A tenant id: 1–63 characters, letters, digits, `_` or `-`, starting with a letter or digit. Narrow on
 * purpose: it appears in headers, Firestore document ids and log fields.
 */
export const TENANT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$";
const tenantId = new RegExp(TENANT_ID_PATTERN);

export function isTenantId(value: unknown): value is string {
  return typeof value === "string" && tenantId.test(value);
}
