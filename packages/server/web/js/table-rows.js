// The rows of the dashboard's tables (alarms, alarm rules, point definitions): cells from their contents,
// a severity as its word in its colour, and a row's action button named for a screen reader.

/**
 * A `<tr>` with one cell per content (text or an element).
 * @param {(string | Node)[]} contents
 */
export function tableRow(contents) {
  const row = document.createElement("tr");
  for (const content of contents) {
    const cell = document.createElement("td");
    cell.append(content);
    row.append(cell);
  }
  return row;
}

/** A severity as its word, coloured (styles.css `.severity-*`): never by colour alone. */
export function severityBadge(severity) {
  const badge = document.createElement("span");
  badge.className = `severity severity-${severity}`;
  badge.textContent = severity;
  return badge;
}

/**
 * A small button of a row: `text` on it, `label` for a screen reader (which row it acts on).
 * @param {{ text: string, label: string, quiet?: boolean, onClick: (button: HTMLButtonElement) => void }} options
 */
export function rowButton({ text, label, quiet = true, onClick }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = quiet ? "button button-quiet button-small" : "button button-small";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", () => onClick(button));
  return button;
}
