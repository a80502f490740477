// The modal steps of the Manage and Account views, on the page's <dialog> elements: a confirmation that
// names what it ends, a one-field edit that stays open until the server has said yes, and the panel that
// shows a secret (a device token, a generated password) exactly once. Each takes a `returnFocus` callback:
// the row that opened it may have been re-rendered meanwhile, so focus goes to whatever stands there now.
import { $, bind } from "./dom.js";

/** @typedef {() => HTMLElement | null | undefined} FocusTarget */

const OPEN = new Set();

/**
 * Opens a dialog modally; resolves with its return value once it closes (Escape resolves "").
 * @param {HTMLDialogElement} dialog
 * @param {FocusTarget} returnFocus
 */
function openDialog(dialog, returnFocus) {
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        OPEN.delete(dialog);
        returnFocus()?.focus();
        resolve(dialog.returnValue);
      },
      { once: true },
    );
    OPEN.add(dialog);
    dialog.showModal();
  });
}

/** Leaving a view closes what it opened (a secret panel forgets its secret as it closes). */
export function closeDialogs() {
  for (const dialog of OPEN) dialog.close("");
}

/**
 * Asks before something that cannot be undone.
 * @param {{ title: string, message: string, confirmLabel: string, returnFocus: FocusTarget }} options
 * @returns {Promise<boolean>}
 */
export async function confirmAction({ title, message, confirmLabel, returnFocus }) {
  bind("confirm-title").textContent = title;
  bind("confirm-message").textContent = message;
  bind("confirm-ok").textContent = confirmLabel;
  return (
    (await openDialog(/** @type {HTMLDialogElement} */ ($("confirm-dialog")), returnFocus)) === "confirm"
  );
}

/**
 * One value to enter (a new name, a new password), sent by `save`; the dialog closes only when `save`
 * resolves, and shows its failure otherwise.
 * @param {{ title: string, label: string, help?: string, value?: string, type?: string, okLabel: string,
 *           maxLength?: number, save: (value: string) => Promise<void>, returnFocus: FocusTarget }} options
 * @returns {Promise<boolean>} whether it was saved
 */
export function editValue({
  title,
  label,
  help = "",
  value = "",
  type = "text",
  okLabel,
  maxLength,
  save,
  returnFocus,
}) {
  const dialog = /** @type {HTMLDialogElement} */ ($("edit-dialog"));
  const form = /** @type {HTMLFormElement} */ ($("edit-form"));
  const input = /** @type {HTMLInputElement} */ ($("edit-value"));
  const error = $("edit-error");
  bind("edit-title").textContent = title;
  bind("edit-label").textContent = label;
  bind("edit-help").textContent = help;
  bind("edit-ok").textContent = okLabel;
  input.type = type;
  input.value = value;
  input.autocomplete = type === "password" ? "new-password" : "off";
  if (maxLength) input.maxLength = maxLength;
  else input.removeAttribute("maxlength");
  error.hidden = true;
  let saved = false;
  const onSubmit = async (/** @type {SubmitEvent} */ event) => {
    if (/** @type {HTMLButtonElement | null} */ (event.submitter)?.value !== "save") return;
    event.preventDefault();
    const submit = /** @type {HTMLButtonElement} */ (event.submitter);
    submit.disabled = true;
    try {
      await save(input.value);
      saved = true;
      dialog.close("save");
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      error.hidden = false;
      input.focus();
    } finally {
      submit.disabled = false;
    }
  };
  form.addEventListener("submit", onSubmit);
  return openDialog(dialog, returnFocus).then(() => {
    form.removeEventListener("submit", onSubmit);
    // A password typed here is not kept in the page once the dialog is gone, nor its label ("New
    // password" would stand beside the sign-in form's "Password").
    input.value = "";
    bind("edit-label").textContent = "Value";
    return saved;
  });
}

/**
 * Shows a secret once, with a Copy button; closing the panel forgets it (nothing else in the page holds it).
 * @param {{ title: string, lead: string, label: string, secret: string, returnFocus: FocusTarget }} options
 */
export async function showSecretOnce({ title, lead, label, secret, returnFocus }) {
  const input = /** @type {HTMLInputElement} */ ($("secret-value"));
  const status = bind("secret-copy-status");
  bind("secret-title").textContent = title;
  bind("secret-lead").textContent = lead;
  bind("secret-label").textContent = label;
  input.value = secret;
  status.textContent = "";
  const copyButton = /** @type {HTMLButtonElement} */ (document.querySelector('[data-action="copy-secret"]'));
  const onCopy = () => copySecret(input, status);
  copyButton.addEventListener("click", onCopy);
  await openDialog(/** @type {HTMLDialogElement} */ ($("secret-dialog")), returnFocus);
  copyButton.removeEventListener("click", onCopy);
  input.value = "";
  status.textContent = "";
  bind("secret-label").textContent = "Secret";
}

/**
 * The Clipboard API where the page may use it (a secure context, permission granted); otherwise the
 * text is selected for the user's own copy shortcut.
 * @param {HTMLInputElement} input @param {HTMLElement} status
 */
async function copySecret(input, status) {
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = "Copied to the clipboard.";
    return;
  } catch {
    // No Clipboard API (plain HTTP on another host) or no permission: fall back to a selection.
  }
  input.focus();
  input.select();
  status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy it.";
}
