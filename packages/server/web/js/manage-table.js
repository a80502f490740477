// What the Manage view's tables share: pages loaded with the API's opaque cursor ("Load more"), rows
// re-rendered after every change (so a row's controls are found again by its id and their action), small
// buttons per row, and the ask-then-act step of a destructive action.
import { confirmAction } from "./dialogs.js";

/**
 * @template T
 * @param {{ table: HTMLTableElement, moreButton: HTMLButtonElement,
 *           fetchPage: (cursor: string | null) => Promise<{ items: T[], next_cursor: string | null }>,
 *           idOf: (item: T) => string, renderRow: (item: T, now: number) => HTMLTableRowElement,
 *           onRendered: (items: T[], more: boolean) => void, onError: (error: any) => void }} options
 */
export function createManageTable({ table, moreButton, fetchPage, idOf, renderRow, onRendered, onError }) {
  const tbody = /** @type {HTMLElement} */ (table.querySelector("tbody"));
  /** @type {T[]} */
  let items = [];
  let cursor = null;
  /** An answer to an older load arrives too late to be shown. */
  let generation = 0;

  async function load(fromStart) {
    if (fromStart) {
      generation += 1;
      cursor = null;
    }
    const mine = generation;
    moreButton.disabled = true;
    try {
      const page = await fetchPage(cursor);
      if (mine !== generation) return;
      items = fromStart ? page.items : [...items, ...page.items];
      cursor = page.next_cursor;
      const now = Date.now();
      tbody.replaceChildren(
        ...items.map((item) => {
          const row = renderRow(item, now);
          row.dataset.id = idOf(item);
          return row;
        }),
      );
      moreButton.hidden = !cursor;
      onRendered(items, Boolean(cursor));
    } catch (error) {
      if (mine === generation) onError(error);
    } finally {
      if (mine === generation) moreButton.disabled = false;
    }
  }
  moreButton.addEventListener("click", () => load(false));

  return {
    /** @param {boolean} fromStart the first page again, or the next one */
    load,
    /** The control `action` of the item's row as it stands now. */
    control: (id, action) =>
      /** @type {HTMLElement | null} */ (
        tbody.querySelector(`tr[data-id="${CSS.escape(id)}"] [data-action="${action}"]`)
      ),
    /** Forgets the rows (the view is left): nothing of them stays in the page. */
    clear() {
      generation += 1;
      items = [];
      cursor = null;
      tbody.replaceChildren();
    },
  };
}

/** A row's small button; `label` names what it acts on ("Delete AHU-7"), for screen readers. */
export function actionButton(action, text, label, onClick, extraClass = "") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `button button-small ${extraClass}`.trim();
  button.dataset.action = action;
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

/**
 * Asks (dialogs.js confirmAction), then acts; a failure goes to the banner with `failure` as its title.
 * @param {{ reportError: (error: any, context: string) => boolean }} app
 * @param {Parameters<typeof confirmAction>[0]} question
 * @param {() => Promise<void>} act
 * @param {string} failure
 */
export async function confirmThenAct(app, question, act, failure) {
  if (!(await confirmAction(question))) return;
  try {
    await act();
  } catch (error) {
    app.reportError(error, failure);
  }
}
