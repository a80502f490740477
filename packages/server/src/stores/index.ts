/**
 * The stores (docs/design/stores.md): interfaces, and their SQLite and Firestore implementations.
 *
 * @example
 * const stores = createSqliteStores(openSqlite(file, SQLITE_MIGRATIONS), { usage });
 * const user = await stores.users.getByUsername("acme", "alice");
 */

export {
  createFirestoreStores,
  DEFAULT_COLLECTIONS,
  type FirestoreCollections,
  type FirestoreStoresOptions,
} from "./firestore/index.js";
export { FIRESTORE_INDEXES } from "./firestore/indexes.js";
export { usernameKey } from "./keys.js";
export { createSqliteStores, type SqliteStoresOptions } from "./sqlite/index.js";
export * from "./types.js";
export * from "./usage.js";
