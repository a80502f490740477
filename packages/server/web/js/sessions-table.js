// A user's sessions as a table (docs/design/sessions.md): when each began and was last used, from which
// browser and address, which one is this very session, and a button to end each. Used by the Account view
// (the user's own) and by the Users panel's sessions dialog (an admin looking at someone's).
import { formatAge, formatDateTime } from "./format.js";

/** The families a person recognises, checked in this order (Edge and Chrome both say "Chrome", Chrome says "Safari"). */
const BROWSERS = [
  ["Edg/", "Edge"],
  ["OPR/", "Opera"],
  ["Firefox/", "Firefox"],
  ["Chrome/", "Chrome"],
  ["Safari/", "Safari"],
  ["curl/", "curl"],
];
const SYSTEMS = [
  ["Android", "Android"],
  ["iPhone", "iOS"],
  ["iPad", "iPadOS"],
  ["Windows", "Windows"],
  ["Mac OS X", "macOS"],
  ["Linux", "Linux"],
];

/** "Chrome on Linux" from a user-agent string; the string itself goes into the tooltip. */
export function describeClient(userAgent) {
  if (!userAgent) return "Unknown client";
  const browser = BROWSERS.find(([marker]) => userAgent.includes(marker))?.[1];
  const system = SYSTEMS.find(([marker]) => userAgent.includes(marker))?.[1];
  if (!browser) return system ? `A client on ${system}` : "Other client";
  return system ? `${browser} on ${system}` : browser;
}

/**
 * @typedef {{ id: string, current: boolean, created_at: number, last_seen_at: number, user_agent: string | null,
 *             ip: string | null }} PublicSession
 */

/**
 * @param {HTMLElement} container where the table goes (its contents are replaced)
 * @param {PublicSession[]} sessions
 * @param {{ caption: string, endLabel: (session: PublicSession) => string,
 *           onEnd: (session: PublicSession) => void }} options
 */
export function renderSessions(container, sessions, { caption, endLabel, onEnd }) {
  if (sessions.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No sessions: signed out everywhere.";
    container.replaceChildren(empty);
    return;
  }
  const now = Date.now();
  const table = document.createElement("table");
  table.className = "table sessions-table";
  const captionElement = table.createCaption();
  captionElement.className = "visually-hidden";
  captionElement.textContent = caption;
  const head = table.createTHead().insertRow();
  for (const text of ["Client", "Address", "Signed in", "Last used", ""]) {
    const th = document.createElement("th");
    th.scope = "col";
    if (text) th.textContent = text;
    else {
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "Action";
      th.append(hidden);
    }
    head.append(th);
  }
  const body = table.createTBody();
  const ordered = [...sessions].sort(
    (a, b) => Number(b.current) - Number(a.current) || b.last_seen_at - a.last_seen_at,
  );
  for (const session of ordered) {
    const row = body.insertRow();
    row.dataset.sessionId = session.id;
    const client = row.insertCell();
    client.textContent = describeClient(session.user_agent);
    client.title = session.user_agent ?? "";
    if (session.current) {
      const marker = document.createElement("span");
      marker.className = "badge badge-success current-marker";
      marker.textContent = "this session";
      client.append(marker);
    }
    row.insertCell().textContent = session.ip ?? "—";
    const created = row.insertCell();
    created.textContent = formatDateTime(session.created_at);
    created.className = "nowrap";
    const used = row.insertCell();
    used.textContent = formatAge(session.last_seen_at, now);
    used.title = formatDateTime(session.last_seen_at);
    const action = row.insertCell();
    action.className = "actions";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small button-danger";
    button.dataset.action = "end-session";
    button.textContent = session.current ? "Sign out" : "End session";
    button.setAttribute("aria-label", endLabel(session));
    button.addEventListener("click", () => onEnd(session));
    action.append(button);
  }
  container.replaceChildren(table);
}

/**
 * Ends a session from a list: ending this very session signs out here; otherwise the list is shown again
 * and the focus goes to its first End button.
 * @param {{ reportError: (error: any, context: string) => boolean, signOut: (message: string) => void }} app
 * @param {PublicSession} session
 * @param {{ revoke: () => Promise<unknown>, reload: () => Promise<void>, container: HTMLElement }} list
 */
export async function endSession(app, session, { revoke, reload, container }) {
  try {
    await revoke();
  } catch (error) {
    app.reportError(error, "The session could not be ended");
    return;
  }
  if (session.current) return app.signOut("You have signed out.");
  await reload();
  /** @type {HTMLElement | null} */ (container.querySelector('[data-action="end-session"]'))?.focus();
}
