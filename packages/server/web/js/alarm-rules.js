// Alarm rules in the browser (docs/design/alarms.md): a device's rules on its page, with a form to create
// one (a threshold `>`, `<` or outside a range on a metric, or the device going offline; held for a time;
// a severity) and a Delete button each, for tenant admins; every rule of the tenant in the Alarms view.
// Other roles see the same lists without the buttons (the server refuses them anyway).
import { api } from "./api.js";
import { $, bind } from "./dom.js";
import { describeMetric, formatWithUnit } from "./format.js";
import { clearFieldErrors, formValues, showFieldError } from "./forms.js";
import { rowButton, severityBadge, tableRow } from "./table-rows.js";

/** At most this many rules are listed in the Alarms view (pages of 200). */
const OVERVIEW_LIMIT = 2000;

/**
 * "Zone temperature > 28 °C", "Damper outside 10%–90%", "Offline", named as the device's point
 * definitions say.
 * @param {any} rule as the API returns it
 * @param {Record<string, any>} [definitions] the device's point definitions
 */
export function describeRule(rule, definitions = {}) {
  if (rule.kind === "offline") return "Offline";
  const definition = definitions[rule.metric];
  const { label } = describeMetric(rule.metric, definition);
  const value = (number) => formatWithUnit(number, rule.metric, definition);
  if (rule.op === "outside") return `${label} outside ${value(rule.min)} – ${value(rule.max)}`;
  return `${label} ${rule.op} ${value(rule.threshold)}`;
}

/**
 * How long a condition must hold: "at once", "90 s", "5 min", "2 h 30 min".
 * @param {number} ms
 */
export function formatHeldFor(ms) {
  if (!ms) return "at once";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/**
 * The body of `POST /api/alarm-rules` from the rule form: only the fields its kind and condition take, a
 * number typed as a number and anything else as typed (the server says what is wrong with it).
 * @param {string} deviceId
 * @param {FormData} data
 */
export function ruleFromForm(deviceId, data) {
  const { text, number } = formValues(data, undefined);
  const minutes = number("for_ms");
  const common = {
    device_id: deviceId,
    for_ms: typeof minutes === "number" ? Math.round(minutes * 60_000) : (minutes ?? 0),
    severity: text("severity"),
  };
  if (text("kind") === "offline") return { ...common, kind: "offline" };
  const op = text("op");
  const condition =
    op === "outside" ? { min: number("min"), max: number("max") } : { threshold: number("threshold") };
  return { ...common, kind: "threshold", metric: text("metric"), op, ...condition };
}

/**
 * A table row of a rule: severity, (device), condition, held for, and a Delete button for admins.
 * @param {any} rule
 * @param {{ definitions: Record<string, any>, deviceName?: string, canEdit: boolean,
 *           onDelete: (rule: any, button: HTMLButtonElement) => void }} options
 */
function ruleRow(rule, options) {
  const condition = describeRule(rule, options.definitions);
  const named = options.deviceName === undefined ? [] : [options.deviceName];
  const action = document.createElement("span");
  if (options.canEdit) {
    action.append(
      rowButton({
        text: "Delete",
        label: `Delete rule: ${condition}${options.deviceName ? ` on ${options.deviceName}` : ""}`,
        onClick: (button) => options.onDelete(rule, button),
      }),
    );
  }
  const row = tableRow([
    severityBadge(rule.severity),
    ...named,
    condition,
    formatHeldFor(rule.for_ms),
    action,
  ]);
  row.dataset.ruleId = rule.id;
  return row;
}

/**
 * The selected device's rules, on its page.
 * @param {{ reportError: (error: any, context: string) => boolean,
 *           currentUser: () => { role: string } | null }} app
 */
export function createDeviceRules(app) {
  const form = /** @type {HTMLFormElement} */ ($("rule-form"));
  const tbody = /** @type {HTMLElement} */ ($("device-rules-table").querySelector("tbody"));
  /** @type {{ id: string, points: Record<string, any> } | null} */
  let device = null;
  let generation = 0;

  const canEdit = () => app.currentUser()?.role === "admin";

  /** Shows the fields the chosen kind and condition take. */
  function showConditionFields() {
    const kind = /** @type {HTMLSelectElement} */ (form.elements.namedItem("kind")).value;
    const op = /** @type {HTMLSelectElement} */ (form.elements.namedItem("op")).value;
    for (const element of form.querySelectorAll("[data-rule-only]")) {
      const only = /** @type {HTMLElement} */ (element).dataset.ruleOnly;
      /** @type {HTMLElement} */ (element).hidden =
        kind === "offline" ||
        (only === "single" && op === "outside") ||
        (only === "outside" && op !== "outside");
    }
  }
  form.addEventListener("change", showConditionFields);

  async function load() {
    if (!device) return;
    const load = ++generation;
    const { rules } = await api.alarmRules({ deviceId: device.id });
    if (load !== generation || !device) return;
    render(rules);
  }

  function render(rules) {
    tbody.replaceChildren(
      ...rules.map((rule) =>
        ruleRow(rule, { definitions: device?.points ?? {}, canEdit: canEdit(), onDelete: remove }),
      ),
    );
    $("device-rules-empty").hidden = rules.length > 0;
  }

  async function remove(rule, button) {
    button.disabled = true;
    try {
      await api.deleteAlarmRule(rule.id);
      await load();
    } catch (error) {
      button.disabled = false;
      app.reportError(error, "The rule could not be deleted");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!device) return;
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    const status = bind("rule-status");
    clearFieldErrors(form);
    submit.disabled = true;
    try {
      await api.createAlarmRule(ruleFromForm(device.id, new FormData(form)));
      status.textContent = "Rule created.";
      for (const name of ["threshold", "min", "max"]) {
        const input = /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
        input.value = "";
      }
      await load();
    } catch (error) {
      status.textContent = "";
      if (!showFieldError(form, error)) app.reportError(error, "The rule could not be created");
    } finally {
      submit.disabled = false;
    }
  });

  return {
    /** @param {{ id: string, points: Record<string, any> }} next */
    show(next) {
      const changed = next.id !== device?.id;
      device = next;
      form.hidden = !canEdit();
      if (changed) {
        clearFieldErrors(form);
        bind("rule-status").textContent = "";
        tbody.replaceChildren();
        $("device-rules-empty").hidden = true;
        showConditionFields();
      }
      load().catch((error) => app.reportError(error, "The device's alarm rules could not be loaded"));
    },
    hide() {
      device = null;
      generation += 1;
      tbody.replaceChildren();
    },
  };
}

/**
 * Every rule of the tenant, in the Alarms view.
 * @param {{ reportError: (error: any, context: string) => boolean,
 *           currentUser: () => { role: string } | null }} app
 * @param {{ onDelete: () => void }} options after a rule is deleted (its open alarm is cleared with it)
 */
export function createRulesOverview(app, options) {
  const tbody = /** @type {HTMLElement} */ ($("rules-table").querySelector("tbody"));
  /** @type {Map<string, { name: string, points: Record<string, any> }>} */
  let devices = new Map();

  async function load() {
    const rules = [];
    let cursor = null;
    do {
      const page = await api.alarmRules({ cursor });
      rules.push(...page.rules);
      cursor = page.next_cursor;
    } while (cursor && rules.length < OVERVIEW_LIMIT);
    const canEdit = app.currentUser()?.role === "admin";
    tbody.replaceChildren(
      ...rules.map((rule) =>
        ruleRow(rule, {
          definitions: devices.get(rule.device_id)?.points ?? {},
          deviceName: devices.get(rule.device_id)?.name ?? rule.device_id,
          canEdit,
          onDelete: remove,
        }),
      ),
    );
    $("rules-empty").hidden = rules.length > 0;
  }

  async function remove(rule, button) {
    button.disabled = true;
    try {
      await api.deleteAlarmRule(rule.id);
      options.onDelete();
      await load();
    } catch (error) {
      button.disabled = false;
      app.reportError(error, "The rule could not be deleted");
    }
  }

  return {
    /**
     * Lists the rules, naming devices and metrics from `known` (device id → name and point definitions).
     * @param {Map<string, { name: string, points: Record<string, any> }>} known
     */
    async enter(known) {
      devices = known;
      try {
        await load();
      } catch (error) {
        app.reportError(error, "The alarm rules could not be loaded");
      }
    },
    leave() {
      tbody.replaceChildren();
    },
  };
}
