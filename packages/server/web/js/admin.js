// The admin view: the tenant's audit log (filters by user and action, newest first, "load more" with the
// API's opaque cursor) and the storage flags, read-only (the platform operator sets them). The server
// decides who may see it: a 403 from the API is rendered as an explanation, not as a broken page.
import { api } from "./api.js";
import { $, bind } from "./dom.js";
import { formatDateTime } from "./format.js";

const FLAG_TEXT = {
  telemetry: ["Telemetry on Firestore", "Device readings and the live charts."],
  audit: ["Audit log on Firestore", "The entries on this page."],
  auth: ["Users and sessions on Firestore", "Sign-in, roles and sessions."],
  telemetry_dual_write: [
    "Telemetry written to both stores",
    "While moving to Firestore: readings go to SQLite and Firestore; reads follow the telemetry flag.",
  ],
};

/** A flag this page has no words for yet still reads as words, never as a raw key. */
function flagText(name) {
  if (FLAG_TEXT[name]) return FLAG_TEXT[name];
  const words = name.replace(/_/g, " ");
  return [words[0].toUpperCase() + words.slice(1), ""];
}

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void }} app
 */
export function createAdminView(app) {
  const filtersForm = /** @type {HTMLFormElement} */ ($("audit-filters"));
  const tbody = /** @type {HTMLElement} */ ($("audit-table").querySelector("tbody"));
  const moreButton = /** @type {HTMLButtonElement} */ (document.querySelector('[data-action="audit-more"]'));

  let filters = { user_id: "", action: "" };
  let cursor = null;
  let shown = 0;
  /** Bumped by every load from the start: an answer to an older load arrives too late to be shown. */
  let generation = 0;
  /** @type {Map<string, string>} user id → username, for readable rows */
  let usernames = new Map();
  /** @type {Map<string, string>} device id → name */
  let deviceNames = new Map();

  filtersForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(filtersForm);
    filters = {
      user_id: resolveUser(String(data.get("user_id") ?? "").trim()),
      action: String(data.get("action") ?? "").trim(),
    };
    loadAudit(true);
  });
  filtersForm.addEventListener("reset", () => {
    filters = { user_id: "", action: "" };
    setTimeout(() => loadAudit(true));
  });
  moreButton.addEventListener("click", () => loadAudit(false));
  /** Accepts a username from the datalist as well as a raw id. */
  function resolveUser(value) {
    for (const [id, name] of usernames) if (name === value) return id;
    return value;
  }

  function showForbidden(error) {
    $("admin-forbidden").hidden = false;
    $("admin-content").hidden = true;
    bind("forbidden-message").textContent =
      `The audit log and the storage flags are for administrators. The server answered: ${error.message} ` +
      `(${error.status} ${error.code}${error.requestId ? `, request ${error.requestId}` : ""}).`;
  }

  async function loadAudit(fromStart) {
    if (fromStart) {
      cursor = null;
      shown = 0;
      generation += 1;
    }
    const mine = generation;
    moreButton.disabled = true;
    try {
      const page = await api.audit(filters, cursor);
      // Clear then Apply sends two loads; whichever answers last, only the newer one's rows are shown.
      if (mine !== generation) return;
      if (fromStart) tbody.replaceChildren();
      tbody.append(...page.entries.map(renderEntry));
      shown += page.entries.length;
      cursor = page.next_cursor;
      moreButton.hidden = !cursor;
      $("audit-empty").hidden = shown > 0;
      bind("audit-count").textContent = shown ? `${shown} entr${shown === 1 ? "y" : "ies"} shown` : "";
      app.clearError();
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 403) showForbidden(error);
      else app.reportError(error, "The audit log could not be loaded");
    } finally {
      // A newer load owns the button until it answers.
      if (mine === generation) moreButton.disabled = false;
    }
  }

  function renderEntry(entry) {
    const row = document.createElement("tr");
    const outcome = String(entry.outcome ?? "");
    const user = entry.user_id ? (usernames.get(entry.user_id) ?? entry.user_id) : "—";
    const cells = [
      formatDateTime(entry.timestamp_ms),
      entry.action ?? "—",
      outcome || "—",
      user,
      describeTarget(entry.target, entry.details),
      entry.ip ?? "—",
    ];
    cells.forEach((text, index) => {
      const cell = document.createElement("td");
      if (index === 1) {
        const code = document.createElement("code");
        code.textContent = text;
        cell.append(code);
      } else if (index === 2 && outcome) {
        const badge = document.createElement("span");
        badge.className = `badge badge-${outcome}`;
        badge.textContent = text;
        cell.append(badge);
      } else cell.textContent = String(text);
      if (index === 0) cell.className = "nowrap";
      if (index === 3 && entry.user_id) cell.title = entry.user_id;
      if (index === 4 && entry.target) cell.title = entry.target;
      else if (index === 4 && entry.details?.role) cell.title = `refused to role ${entry.details.role}`;
      row.append(cell);
    });
    return row;
  }

  /**
   * `device:<id>` and `user:<id>` read better as names; the raw target stays in the tooltip. A refusal
   * (`authz.denied`, `tenant.violation`) has no target of its own: what was refused is the route.
   */
  function describeTarget(target, details) {
    if (!target) return typeof details?.route === "string" ? details.route : "—";
    const [kind, id] = String(target).split(/:(.*)/s);
    if (kind === "device" && deviceNames.has(id)) return `device ${deviceNames.get(id)}`;
    if (kind === "user" && usernames.has(id)) return `user ${usernames.get(id)}`;
    return String(target);
  }

  async function loadDevices() {
    try {
      const { devices } = await api.devices();
      deviceNames = new Map(devices.map((device) => [String(device.id), String(device.name)]));
    } catch {
      // Names only make rows easier to read; ids are shown otherwise.
    }
  }

  async function loadUsers() {
    try {
      const users = await api.users();
      usernames = new Map(users.map((user) => [String(user.id), String(user.username)]));
      $("audit-users").replaceChildren(
        ...users.map((user) => {
          const option = document.createElement("option");
          option.value = String(user.username);
          return option;
        }),
      );
    } catch {
      // The user list only makes rows friendlier; the audit log works with raw ids.
    }
  }

  /** Read-only switches: the platform operator moves areas; without Firestore the panel says why all are off. */
  function renderFlags(flags, firestoreConfigured) {
    const note = $("flags-note");
    note.hidden = firestoreConfigured !== false;
    const names = Object.keys(flags).sort(
      (a, b) => Object.keys(FLAG_TEXT).indexOf(a) - Object.keys(FLAG_TEXT).indexOf(b),
    );
    $("flags-list").replaceChildren(
      ...names.map((name) => {
        const [title, description] = flagText(name);
        const row = document.createElement("div");
        row.className = "flag";
        const text = document.createElement("div");
        const label = document.createElement("label");
        label.htmlFor = `flag-${name}`;
        label.className = "flag-title";
        label.textContent = title;
        const help = document.createElement("p");
        help.className = "muted small";
        help.id = `flag-${name}-help`;
        help.textContent = description;
        text.append(label, help);
        const input = document.createElement("input");
        input.type = "checkbox";
        input.className = "switch";
        input.setAttribute("role", "switch");
        input.id = `flag-${name}`;
        input.name = name;
        input.checked = Boolean(flags[name]);
        input.disabled = true;
        input.setAttribute("aria-describedby", help.id);
        row.append(text, input);
        return row;
      }),
    );
  }

  async function loadFlags() {
    try {
      const described = await api.flags();
      renderFlags(described.flags, described.firestoreConfigured);
    } catch (error) {
      if (error.status === 403) showForbidden(error);
      else app.reportError(error, "The flags could not be loaded");
    }
  }

  return {
    async enter() {
      $("admin-forbidden").hidden = true;
      $("admin-content").hidden = false;
      await Promise.all([loadUsers(), loadDevices()]);
      await Promise.all([loadAudit(true), loadFlags()]);
    },
    leave() {},
  };
}
