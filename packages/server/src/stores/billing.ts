/**
 * Firestore bills one read per document a query returns, and one for a query that returns none; a
 * lookup of a missing document bills one too. SQLite stores count rows the same way so that the
 * two backends' metrics compare.
 */
export function queryReads(returned: number): number {
  return Math.max(1, returned);
}

/**
 * Firestore bills an aggregation (`count()`) one read per 1,000 index entries it counts, and one when it
 * counts none. SQLite stores count a `COUNT(*)` the same way.
 */
export function aggregationReads(counted: number): number {
  return Math.max(1, Math.ceil(counted / 1000));
}
