// Users on the Manage view (admins): the tenant's users page by page; create one (a password typed or
// generated and shown once), change a role, reset a password, see and end their sessions, delete one.
// A role or password change ends every session of the user (the API does it, docs/design/sessions.md), so
// the dialogs say so before. The API also refuses an admin deleting themselves; the page does not offer it,
// nor a change of one's own role (which would take the admin's own rights away mid-page).
import { closeDialogs, confirmAction, editValue, showSecretOnce } from "./dialogs.js";
import { $, bind } from "./dom.js";
import { formatDateTime } from "./format.js";
import { manageApi } from "./manage-api.js";
import { actionButton, confirmThenAct, createManageTable } from "./manage-table.js";
import { endSession, renderSessions } from "./sessions-table.js";

const ROLES = ["viewer", "operator", "admin"];
const MIN_PASSWORD = 12;
/** No look-alikes (0/O, 1/l/I): a generated password is read off a screen and typed. */
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** 20 characters from ALPHABET (about 116 bits), in groups of five: "Hx7mQ-…". */
export function generatePassword() {
  const chars = [];
  // Rejection sampling: a byte maps to a character only below the largest multiple of the alphabet's size.
  const limit = 256 - (256 % ALPHABET.length);
  while (chars.length < 20) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < limit && chars.length < 20) chars.push(ALPHABET[byte % ALPHABET.length]);
    }
  }
  return chars.join("").match(/.{5}/g).join("-");
}

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void,
 *           currentUser: () => { id: string, role: string } | null, signOut: (message: string) => void }} app
 */
export function createManageUsers(app) {
  const slot = $("user-create-slot");
  const template = /** @type {HTMLTemplateElement} */ ($("user-create-template"));
  const heading = $("manage-users-title");
  heading.tabIndex = -1;
  const sessionsDialog = /** @type {HTMLDialogElement} */ ($("sessions-dialog"));
  const sessionsBox = $("user-sessions");

  /** The user whose sessions the dialog shows. */
  let sessionsOf = null;

  const table = createManageTable({
    table: /** @type {HTMLTableElement} */ ($("manage-users-table")),
    moreButton: /** @type {HTMLButtonElement} */ (
      document.querySelector('[data-action="manage-users-more"]')
    ),
    fetchPage: async (cursor) => {
      const page = await manageApi.users(cursor);
      return { items: page.users, next_cursor: page.next_cursor };
    },
    idOf: (user) => user.id,
    renderRow,
    onRendered: (users, more) => {
      bind("manage-users-shown").textContent = more ? `${users.length} shown` : "";
    },
    onError: (error) => app.reportError(error, "The users could not be loaded"),
  });
  const load = table.load;
  const rowControl = table.control;
  const isMe = (user) => user.id === app.currentUser()?.id;

  function renderRow(user) {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = user.username;
    name.title = user.id;
    if (isMe(user)) {
      const marker = document.createElement("span");
      marker.className = "badge current-marker";
      marker.textContent = "you";
      name.append(marker);
    }
    const role = document.createElement("td");
    const select = document.createElement("select");
    select.className = "role-select";
    select.dataset.action = "role";
    select.setAttribute("aria-label", `Role of ${user.username}`);
    select.append(
      ...ROLES.map((value) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        option.selected = value === user.role;
        return option;
      }),
    );
    if (isMe(user)) {
      select.disabled = true;
      select.title = "Another admin changes your role.";
    }
    // Choosing a role only offers Save: a dialog opening on every arrow key would take the keyboard away.
    const save = actionButton("save-role", "Save", `Save the role of ${user.username}`, () =>
      changeRole(user, select, save),
    );
    save.hidden = true;
    select.addEventListener("change", () => {
      save.hidden = select.value === user.role;
    });
    const roleControls = document.createElement("div");
    roleControls.className = "role-controls";
    roleControls.append(select, save);
    role.append(roleControls);
    const created = document.createElement("td");
    created.textContent = formatDateTime(user.created_at);
    created.className = "nowrap col-created";
    const actions = document.createElement("td");
    actions.className = "actions";
    const buttons = document.createElement("div");
    buttons.className = "row-actions";
    buttons.append(
      actionButton("reset", "Reset password", `Reset the password of ${user.username}`, () =>
        resetPassword(user),
      ),
      actionButton("sessions", "Sessions", `Sessions of ${user.username}`, () => showSessions(user)),
    );
    if (!isMe(user))
      buttons.append(
        actionButton("delete", "Delete", `Delete ${user.username}`, () => remove(user), "button-danger"),
      );
    actions.append(buttons);
    row.append(name, role, created, actions);
    return row;
  }

  /** A password as typed, or a generated one when left empty; throws the reason a typed one is refused. */
  function choosePassword(typed) {
    if (!typed) return { password: generatePassword(), generated: true };
    if (typed.length < MIN_PASSWORD) throw new Error(`A password needs at least ${MIN_PASSWORD} characters.`);
    return { password: typed, generated: false };
  }

  /** The create form, in the page only while the view is shown (see index.html). */
  function mountForm() {
    if (slot.firstElementChild) return;
    slot.append(template.content.cloneNode(true));
    $("user-create-form").addEventListener("submit", createUser);
  }

  async function createUser(/** @type {SubmitEvent} */ event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const usernameInput = /** @type {HTMLInputElement} */ ($("user-create-username"));
    const formError = $("user-create-error");
    const data = new FormData(form);
    const username = String(data.get("username") ?? "").trim();
    const role = String(data.get("role") ?? "viewer");
    const showError = (message, field) => {
      formError.textContent = message;
      formError.hidden = false;
      field.focus();
    };
    if (!username) return showError("Please enter a username.", usernameInput);
    let chosen;
    try {
      chosen = choosePassword(String(data.get("password") ?? ""));
    } catch (error) {
      return showError(error.message, $("user-create-password"));
    }
    formError.hidden = true;
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    submit.disabled = true;
    try {
      await manageApi.createUser(username, role, chosen.password);
    } catch (error) {
      if (error.status === 409) showError(`The username ${username} is taken in this tenant.`, usernameInput);
      else if (error.status === 400)
        showError(`The user could not be created: ${error.message}`, usernameInput);
      else app.reportError(error, "The user could not be created");
      return;
    } finally {
      submit.disabled = false;
    }
    form.reset();
    const refreshed = load(true);
    if (chosen.generated)
      await showSecretOnce({
        title: `${username} can sign in`,
        lead: `The password of ${username} (${role}). Give it to them over a channel you trust.`,
        label: `Password of ${username}`,
        secret: chosen.password,
        returnFocus: () => $("user-create-username"),
      });
    else usernameInput.focus();
    await refreshed;
  }

  async function changeRole(user, select, save) {
    const role = select.value;
    const confirmed = await confirmAction({
      title: `Make ${user.username} ${/^[aeiou]/.test(role) ? "an" : "a"} ${role}?`,
      message: `${user.username} is signed out of every session and signs in again with the new role.`,
      confirmLabel: `Make ${role}`,
      returnFocus: () => rowControl(user.id, "role"),
    });
    if (confirmed) {
      try {
        await manageApi.updateUser(user.id, { role });
        user.role = role;
      } catch (error) {
        app.reportError(error, `The role of ${user.username} could not be changed`);
      }
    }
    select.value = user.role;
    save.hidden = true;
  }

  async function resetPassword(user) {
    let generated = null;
    const saved = await editValue({
      title: `Reset the password of ${user.username}`,
      label: "New password",
      type: "password",
      help: `At least ${MIN_PASSWORD} characters; leave empty to generate one, shown once. ${user.username} is signed out of every session.`,
      okLabel: "Reset password",
      maxLength: 256,
      returnFocus: () => rowControl(user.id, "reset"),
      save: async (value) => {
        const chosen = choosePassword(value);
        await manageApi.updateUser(user.id, { password: chosen.password });
        if (chosen.generated) generated = chosen.password;
      },
    });
    if (saved && generated)
      await showSecretOnce({
        title: `New password for ${user.username}`,
        lead: `${user.username} signs in with this password from now on.`,
        label: `Password of ${user.username}`,
        secret: generated,
        returnFocus: () => rowControl(user.id, "reset"),
      });
  }

  async function loadSessions() {
    const user = sessionsOf;
    try {
      const sessions = await manageApi.userSessions(user.id);
      if (sessionsOf !== user) return;
      renderSessions(sessionsBox, sessions, {
        caption: `Sessions of ${user.username}`,
        endLabel: (session) =>
          session.current ? "Sign out of this session" : `End the session of ${user.username} on this client`,
        onEnd: (session) => endUserSession(user, session),
      });
    } catch (error) {
      app.reportError(error, `The sessions of ${user.username} could not be loaded`);
    }
  }

  async function showSessions(user) {
    sessionsOf = user;
    bind("sessions-title").textContent = `Sessions of ${user.username}`;
    sessionsBox.replaceChildren();
    const opened = new Promise((resolve) => {
      sessionsDialog.addEventListener("close", resolve, { once: true });
    });
    sessionsDialog.showModal();
    await loadSessions();
    await opened;
    sessionsOf = null;
    sessionsBox.replaceChildren();
    rowControl(user.id, "sessions")?.focus();
  }

  const endUserSession = (user, session) =>
    endSession(app, session, {
      revoke: () => manageApi.revokeUserSession(user.id, session.id),
      reload: loadSessions,
      container: sessionsDialog,
    });

  document.querySelector('[data-action="user-sessions-revoke-all"]')?.addEventListener("click", async () => {
    const user = sessionsOf;
    if (!user) return;
    try {
      await manageApi.revokeUserSessions(user.id);
    } catch (error) {
      app.reportError(error, `The sessions of ${user.username} could not be ended`);
      return;
    }
    if (isMe(user)) return app.signOut("You have signed out everywhere.");
    await loadSessions();
  });

  async function remove(user) {
    await confirmThenAct(
      app,
      {
        title: `Delete ${user.username}?`,
        message: `${user.username} is signed out everywhere and can no longer sign in. Their entries in the audit log stay.`,
        confirmLabel: `Delete ${user.username}`,
        returnFocus: () => rowControl(user.id, "delete"),
      },
      async () => {
        await manageApi.deleteUser(user.id);
        await load(true);
        heading.focus();
      },
      `${user.username} could not be deleted`,
    );
  }

  return {
    async enter() {
      mountForm();
      await load(true);
    },
    /** Nothing of the tenant's users stays in the page once the view is left (or the admin signs out). */
    leave() {
      closeDialogs();
      if (sessionsDialog.open) sessionsDialog.close();
      slot.replaceChildren();
      table.clear();
    },
  };
}
