// The selected device's settings, below its chart (docs/design/devices.md): where it is (site, building,
// floor, zone) and what its points mean (display name, unit, kind, valid range or labels), edited by tenant
// admins through `PATCH /api/devices/:id` and `PUT|DELETE /api/devices/:id/points/:metric`, read by the
// other roles; and its alarm rules (alarm-rules.js). A saved change goes back to the live view, which
// regroups its list and relabels its chart.
import { createDeviceRules } from "./alarm-rules.js";
import { api } from "./api.js";
import { $, bind } from "./dom.js";
import { BOOLEAN_LABELS } from "./format.js";
import { clearFieldErrors, formValues, showFieldError } from "./forms.js";
import { rowButton, tableRow } from "./table-rows.js";

const PLACE = ["site", "building", "floor", "zone"];
const PLACE_NAMES = { site: "Site", building: "Building", floor: "Floor", zone: "Zone" };
const KIND_NAMES = { number: "Number", boolean: "Boolean", enum: "Enum" };

/**
 * "0=off, 1=heat, 2=cool" as `{ "0": "off", "1": "heat", "2": "cool" }`; an entry without "=" keeps its
 * text as the code (the server refuses it, next to the field).
 * @param {string} text
 */
export function parseLabels(text) {
  /** @type {Record<string, string>} */
  const labels = {};
  for (const entry of text.split(",")) {
    if (!entry.trim()) continue;
    const at = entry.indexOf("=");
    if (at < 0) labels[entry.trim()] = "";
    else labels[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return labels;
}

/** @param {Record<string, string> | null} labels */
export function formatLabels(labels) {
  return Object.entries(labels ?? {})
    .map(([code, label]) => `${code}=${label}`)
    .join(", ");
}

/**
 * The body of `PUT …/points/:metric` from the point form: a number typed as a number and anything else
 * as typed, for the server to judge; the fields the kind does not take left out.
 * @param {FormData} data
 */
export function definitionFromForm(data) {
  const { text, number } = formValues(data, null);
  const kind = text("kind");
  const definition = { name: text("name"), kind };
  if (kind === "number")
    return { ...definition, unit: text("unit") || null, min: number("min"), max: number("max") };
  if (kind === "enum") return { ...definition, labels: parseLabels(text("labels")) };
  return definition;
}

/** What a point accepts, in words: "10 – 35", "≥ 0", "0=off, 1=on", "any". */
function validValues(definition) {
  if (definition.kind === "boolean") return formatLabels(BOOLEAN_LABELS);
  if (definition.kind === "enum") return formatLabels(definition.labels);
  const { min, max } = definition;
  if (min != null && max != null) return `${min} – ${max}`;
  if (min != null) return `≥ ${min}`;
  if (max != null) return `≤ ${max}`;
  return "any";
}

/**
 * @param {{ reportError: (error: any, context: string) => boolean,
 *           currentUser: () => { role: string } | null }} app
 * @param {{ onDeviceChanged: (device: any) => void }} options `device` as `GET /api/devices/:id` gives it
 */
export function createDeviceSettings(app, options) {
  const panel = $("device-settings");
  const locationForm = /** @type {HTMLFormElement} */ ($("location-form"));
  const pointForm = /** @type {HTMLFormElement} */ ($("point-form"));
  const pointsBody = /** @type {HTMLElement} */ ($("points-table").querySelector("tbody"));
  const rules = createDeviceRules(app);
  /** @type {{ id: string, name: string, location: any, points: Record<string, any> } | null} */
  let device = null;

  const canEdit = () => app.currentUser()?.role === "admin";
  const input = (form, name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));

  function renderLocation() {
    const values = $("location-values");
    values.hidden = canEdit();
    values.replaceChildren(
      ...PLACE.map((level) => {
        const wrapper = document.createElement("div");
        const term = document.createElement("dt");
        const value = document.createElement("dd");
        term.textContent = PLACE_NAMES[level];
        value.textContent = device?.location?.[level] || "—";
        wrapper.append(term, value);
        return wrapper;
      }),
    );
  }

  function fillLocationForm() {
    clearFieldErrors(locationForm);
    bind("location-status").textContent = "";
    for (const level of PLACE) input(locationForm, level).value = device?.location?.[level] ?? "";
  }

  function renderPoints() {
    const entries = Object.entries(device?.points ?? {}).sort(([a], [b]) => a.localeCompare(b));
    pointsBody.replaceChildren(
      ...entries.map(([metric, definition]) => {
        const code = document.createElement("code");
        code.textContent = metric;
        const actions = document.createElement("span");
        actions.className = "row-actions";
        if (canEdit()) {
          actions.append(
            rowButton({
              text: "Edit",
              label: `Edit point ${metric}`,
              onClick: () => editPoint(metric, definition),
            }),
            rowButton({
              text: "Remove",
              label: `Remove point ${metric}`,
              onClick: (button) => removePoint(metric, button),
            }),
          );
        }
        const row = tableRow([
          code,
          definition.name,
          definition.unit ?? "",
          KIND_NAMES[definition.kind] ?? definition.kind,
          validValues(definition),
          actions,
        ]);
        row.dataset.metric = metric;
        return row;
      }),
    );
    $("points-empty").hidden = entries.length > 0;
  }

  /** Shows the fields the chosen kind takes. */
  function showKindFields() {
    const kind = /** @type {HTMLSelectElement} */ (pointForm.elements.namedItem("kind")).value;
    for (const element of pointForm.querySelectorAll("[data-kind-only]")) {
      /** @type {HTMLElement} */ (element).hidden =
        /** @type {HTMLElement} */ (element).dataset.kindOnly !== kind;
    }
  }

  function editPoint(metric, definition) {
    clearFieldErrors(pointForm);
    bind("point-form-title").textContent = `Edit point ${metric}`;
    input(pointForm, "metric").value = metric;
    input(pointForm, "name").value = definition.name;
    /** @type {HTMLSelectElement} */ (pointForm.elements.namedItem("kind")).value = definition.kind;
    input(pointForm, "unit").value = definition.unit ?? "";
    input(pointForm, "min").value = definition.min ?? "";
    input(pointForm, "max").value = definition.max ?? "";
    input(pointForm, "labels").value = formatLabels(definition.labels);
    showKindFields();
    input(pointForm, "name").focus();
  }

  async function removePoint(metric, button) {
    if (!device) return;
    button.disabled = true;
    try {
      saved((await api.deletePoint(device.id, metric)).device);
    } catch (error) {
      button.disabled = false;
      app.reportError(error, "The point definition could not be removed");
    }
  }

  /** The server's answer is the device as it now is: shown here, and handed to the live view. */
  function saved(next) {
    if (!device || next.id !== device.id) return;
    device = { ...device, location: next.location, points: next.points };
    renderLocation();
    renderPoints();
    rules.show(device);
    options.onDeviceChanged(next);
  }

  locationForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!device) return;
    clearFieldErrors(locationForm);
    const location = Object.fromEntries(
      PLACE.map((level) => [level, input(locationForm, level).value.trim() || null]),
    );
    const submit = /** @type {HTMLButtonElement} */ (locationForm.querySelector('button[type="submit"]'));
    submit.disabled = true;
    try {
      saved((await api.updateDevice(device.id, { location })).device);
      bind("location-status").textContent = "Location saved.";
    } catch (error) {
      bind("location-status").textContent = "";
      if (!showFieldError(locationForm, error)) app.reportError(error, "The location could not be saved");
    } finally {
      submit.disabled = false;
    }
  });

  pointForm.addEventListener("change", (event) => {
    if (/** @type {HTMLElement} */ (event.target).getAttribute("name") === "kind") showKindFields();
  });
  pointForm.addEventListener("reset", () => {
    clearFieldErrors(pointForm);
    bind("point-form-title").textContent = "Define a point";
    bind("point-status").textContent = "";
    // After the reset has put the fields back: the kind is "number" again.
    setTimeout(showKindFields);
  });
  pointForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!device) return;
    clearFieldErrors(pointForm);
    const data = new FormData(pointForm);
    const metric = String(data.get("metric") ?? "").trim();
    const submit = /** @type {HTMLButtonElement} */ (pointForm.querySelector('button[type="submit"]'));
    submit.disabled = true;
    try {
      // An empty metric is sent as a blank, which the server refuses next to the Metric field (an empty
      // path segment would name another route).
      const answer = await api.setPoint(device.id, metric || " ", definitionFromForm(data));
      saved(answer.device);
      pointForm.reset();
      bind("point-status").textContent = `Point ${metric} saved.`;
    } catch (error) {
      bind("point-status").textContent = "";
      if (!showFieldError(pointForm, error))
        app.reportError(error, "The point definition could not be saved");
    } finally {
      submit.disabled = false;
    }
  });

  return {
    /**
     * Shows a device's settings; the forms are filled again only for another device (or on `refill`), so
     * that a list refresh does not wipe what an admin is typing.
     * @param {{ id: string, name: string, location: any, points: Record<string, any> } | null} next
     */
    show(next) {
      if (!next) {
        this.hide();
        return;
      }
      const changed = next.id !== device?.id;
      device = next;
      panel.hidden = false;
      bind("settings-note").textContent = canEdit()
        ? `Where ${next.name} is, what its metrics mean, and when it raises alarms.`
        : "Read only: a tenant admin changes these.";
      for (const form of panel.querySelectorAll("[data-admin-edit]")) {
        /** @type {HTMLElement} */ (form).hidden = !canEdit();
      }
      renderLocation();
      renderPoints();
      if (changed) {
        fillLocationForm();
        pointForm.reset();
      }
      rules.show(next);
    },
    /** The metrics the device has sent, offered in the point and rule forms. */
    metricsSeen(names) {
      const list = $("point-metrics");
      const signature = names.join("\n");
      if (list.dataset.signature === signature) return;
      list.dataset.signature = signature;
      list.replaceChildren(
        ...names.map((name) => {
          const option = document.createElement("option");
          option.value = name;
          return option;
        }),
      );
    },
    hide() {
      device = null;
      panel.hidden = true;
      rules.hide();
    },
  };
}
