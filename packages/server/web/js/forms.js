// Forms the server judges (docs/design/api.md: 400 VALIDATION_FAILED): their values are sent as typed, and
// a refusal is shown next to the field it is about. The message names the field either as a path
// ("body/location/site must NOT have more than 64 characters") or in words ('op "outside" takes min and
// max'). A form marks each field's slot with `data-error-for="<name>"`, and one slot with `data-error-for=""`
// for what no field claims.

/**
 * A form's values as typed: `text(name)` trimmed, `number(name)` a number when the text is one, the text
 * otherwise (for the server to refuse, next to its field), `empty` when blank.
 * @template E
 * @param {FormData} data
 * @param {E} empty what a blank number field gives (undefined: left out of a body; null: cleared)
 */
export function formValues(data, empty) {
  const text = (name) => String(data.get(name) ?? "").trim();
  /** @returns {number | string | E} */
  const number = (name) => {
    const value = text(name);
    if (value === "") return empty;
    return Number.isFinite(Number(value)) ? Number(value) : value;
  };
  return { text, number };
}

/**
 * The field a message is about, among `fields`: the last path segment that names one, else the first
 * field named in the words, else null.
 * @param {string} message
 * @param {string[]} fields the form's field names that can be wrong (inputs, not closed choices)
 * @returns {string | null}
 */
export function fieldOfMessage(message, fields) {
  const path = /\b(?:body|params|querystring)((?:\/[A-Za-z0-9_]+)+)/.exec(message);
  if (path) {
    const named = path[1].split("/").filter((segment) => fields.includes(segment));
    if (named.length) return named[named.length - 1];
  }
  let best = null;
  let bestAt = Infinity;
  for (const field of fields) {
    const at = message.search(new RegExp(`\\b${field}\\b`));
    if (at >= 0 && at < bestAt) {
      best = field;
      bestAt = at;
    }
  }
  return best;
}

/** @param {HTMLFormElement} form */
export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    const element = /** @type {HTMLElement} */ (slot);
    element.hidden = true;
    element.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/**
 * Shows a validation failure next to its field (marked `aria-invalid`, focused); anything else is not a
 * form's to show, and is returned false for the caller to report.
 * @param {HTMLFormElement} form
 * @param {any} error an ApiError
 * @returns {boolean} whether it was shown in the form
 */
export function showFieldError(form, error) {
  clearFieldErrors(form);
  if (error?.status !== 400) return false;
  const inputs = [...form.querySelectorAll("input[name]")].filter(
    (input) => !(/** @type {HTMLElement} */ (input).closest("[hidden]")),
  );
  const field = fieldOfMessage(
    String(error.message),
    inputs.map((input) => /** @type {HTMLInputElement} */ (input).name),
  );
  const slot = /** @type {HTMLElement | null} */ (
    form.querySelector(`[data-error-for="${field ?? ""}"]`) ?? form.querySelector('[data-error-for=""]')
  );
  if (!slot) return false;
  // "body/min must be number" reads "min must be number" next to the field it names.
  slot.textContent = String(error.message).replace(/\b(?:body|params|querystring)\//g, "");
  slot.hidden = false;
  const input = field ? /** @type {HTMLInputElement | null} */ (form.elements.namedItem(field)) : null;
  if (input) {
    slot.id ||= `${form.id}-${field}-error`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", slot.id);
    input.focus();
  }
  return true;
}
