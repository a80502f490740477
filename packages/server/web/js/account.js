// The Account view (every role): the signed-in user's own sessions, each of which they can end, and
// "Sign out everywhere". Ending this very session signs out here too.
import { confirmAction } from "./dialogs.js";
import { $ } from "./dom.js";
import { manageApi } from "./manage-api.js";
import { endSession, renderSessions } from "./sessions-table.js";

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void,
 *           signOut: (message: string) => void }} app
 */
export function createAccountView(app) {
  const box = $("account-sessions");
  const revokeAll = /** @type {HTMLButtonElement} */ (
    document.querySelector('[data-action="account-revoke-all"]')
  );

  async function load() {
    try {
      const sessions = await manageApi.ownSessions();
      renderSessions(box, sessions, {
        caption: "Your sessions",
        endLabel: (session) => (session.current ? "Sign out of this session" : "End this session of yours"),
        onEnd: (session) => end(session),
      });
      app.clearError();
    } catch (error) {
      app.reportError(error, "Your sessions could not be loaded");
    }
  }

  const end = (session) =>
    endSession(app, session, {
      revoke: () => manageApi.revokeOwnSession(session.id),
      reload: load,
      container: box,
    });

  revokeAll.addEventListener("click", async () => {
    const confirmed = await confirmAction({
      title: "Sign out everywhere?",
      message:
        "Every session of yours ends, this one included: every browser signed in as you has to sign in again.",
      confirmLabel: "Sign out everywhere",
      returnFocus: () => revokeAll,
    });
    if (!confirmed) return;
    try {
      await manageApi.revokeOwnSessions();
    } catch (error) {
      app.reportError(error, "The sessions could not be ended");
      return;
    }
    app.signOut("You have signed out everywhere.");
  });

  return {
    enter: load,
    /** Nothing of the user's sessions stays in the page once the view is left. */
    leave() {
      box.replaceChildren();
    },
  };
}
