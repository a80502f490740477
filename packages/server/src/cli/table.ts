/**
 * A list as the terminal shows it: a header row, then one row per item, columns aligned. Every `list`
 * command prints through this so that lists read the same everywhere (and `--json` prints the items).
 *
 * @example
 * printTable(["ID", "ROLE", "USERNAME"], users.map((u) => [u.id, u.role, u.username]), "no users");
 */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "),
    )
    .join("\n");
}

/**
 * Prints the header row and the rows on stdout, aligned. With no rows the header still prints (a script
 * reading the table sees the same shape) and `empty` says why on stderr, e.g. "no devices in acme".
 */
export function printTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): void {
  console.log(formatTable([header, ...rows]));
  if (rows.length === 0) console.error(empty);
}
