/**
 * Firestore bills one read per document a query returns, and one for a query that returns none; a
 * lookup of a missing document bills one too. SQLite stores count rows the same way so that the
 * two backends' metrics compare.
 */
export function queryReads(returned: number): number {
  return Math.max(1, returned);
}
