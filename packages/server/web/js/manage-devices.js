// Devices on the Manage view (admins): register one (name, optional location), rename, rotate its token,
// delete. A token is shown once, in the secret panel (dialogs.js); the page keeps no copy. The server is the
// judge of who may do this: the view is only offered to admins, and a refusal is reported like any other.
import { placeOf } from "./device-groups.js";
import { closeDialogs, editValue, showSecretOnce } from "./dialogs.js";
import { $, bind } from "./dom.js";
import { formatAge, formatDateTime } from "./format.js";
import { manageApi } from "./manage-api.js";
import { actionButton, confirmThenAct, createManageTable } from "./manage-table.js";

const LOCATION_TAGS = ["site", "building", "floor", "zone"];

/** "HQ · Building A · L2 · Lab 14", or an em dash. */
function describeLocation(location) {
  const parts = [placeOf(location), location?.zone].filter((part) => typeof part === "string" && part);
  return parts.length ? parts.join(" · ") : "—";
}

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void }} app
 */
export function createManageDevices(app) {
  const form = /** @type {HTMLFormElement} */ ($("device-create-form"));
  const nameInput = /** @type {HTMLInputElement} */ ($("device-create-name"));
  const formError = $("device-create-error");
  const heading = $("manage-devices-title");
  heading.tabIndex = -1;

  const table = createManageTable({
    table: /** @type {HTMLTableElement} */ ($("manage-devices-table")),
    moreButton: /** @type {HTMLButtonElement} */ (
      document.querySelector('[data-action="manage-devices-more"]')
    ),
    fetchPage: async (cursor) => {
      const page = await manageApi.devices(cursor);
      return { items: page.devices, next_cursor: page.next_cursor };
    },
    idOf: (device) => device.id,
    renderRow,
    onRendered: (devices, more) => {
      $("manage-devices-empty").hidden = devices.length > 0;
      bind("manage-device-count").textContent = devices.length ? `(${devices.length}${more ? "+" : ""})` : "";
      bind("manage-devices-shown").textContent = more ? `${devices.length} shown` : "";
    },
    onError: (error) => app.reportError(error, "The devices could not be loaded"),
  });
  const load = table.load;
  const rowButton = table.control;

  function renderRow(device, now) {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = device.name;
    name.title = device.id;
    const location = document.createElement("td");
    location.textContent = describeLocation(device.location);
    const status = document.createElement("td");
    const seen = typeof device.last_seen_ms === "number";
    status.textContent = seen
      ? `${device.status ?? "offline"}, seen ${formatAge(device.last_seen_ms, now)}`
      : "never seen";
    if (seen) status.title = formatDateTime(device.last_seen_ms);
    const actions = document.createElement("td");
    actions.className = "actions";
    const buttons = document.createElement("div");
    buttons.className = "row-actions";
    buttons.append(
      actionButton("rename", "Rename", `Rename ${device.name}`, () => rename(device)),
      actionButton("rotate", "Rotate token", `Rotate the token of ${device.name}`, () => rotate(device)),
      actionButton("delete", "Delete", `Delete ${device.name}`, () => remove(device), "button-danger"),
    );
    actions.append(buttons);
    row.append(name, location, status, actions);
    return row;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("name") ?? "").trim();
    if (!name) {
      formError.textContent = "Please enter the device's name.";
      formError.hidden = false;
      nameInput.focus();
      return;
    }
    formError.hidden = true;
    const location = Object.fromEntries(
      LOCATION_TAGS.map((tag) => [tag, String(data.get(tag) ?? "").trim()]).filter(([, value]) => value),
    );
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    submit.disabled = true;
    let created;
    try {
      created = await manageApi.createDevice(name);
    } catch (error) {
      if (!app.reportError(error, "The device could not be created")) {
        formError.textContent = `The device could not be created: ${error.message}`;
        formError.hidden = false;
      }
      submit.disabled = false;
      return;
    }
    form.reset();
    submit.disabled = false;
    // The token is shown whatever happens to the location: it exists only in this answer. The list behind
    // the panel catches up meanwhile.
    const refreshed = (
      Object.keys(location).length
        ? manageApi.updateDevice(created.device.id, { location }).catch((error) => {
            app.reportError(error, `${created.device.name} was created, but its location could not be saved`);
          })
        : Promise.resolve()
    ).then(() => load(true));
    await showSecretOnce({
      title: `${created.device.name} is registered`,
      lead: "The device sends this bearer token with every reading (Authorization: Bearer …).",
      label: `Token of ${created.device.name}`,
      secret: created.token,
      returnFocus: () => nameInput,
    });
    await refreshed;
  });

  async function rename(device) {
    await editValue({
      title: `Rename ${device.name}`,
      label: "New name",
      value: device.name,
      okLabel: "Rename",
      maxLength: 128,
      returnFocus: () => rowButton(device.id, "rename") ?? heading,
      save: async (value) => {
        const name = value.trim();
        if (!name) throw new Error("Please enter a name.");
        await manageApi.updateDevice(device.id, { name });
        await load(true);
      },
    });
  }

  async function rotate(device) {
    await confirmThenAct(
      app,
      {
        title: `Rotate the token of ${device.name}?`,
        message: `The current token of ${device.name} stops working at once: the device's readings are refused until it is given the new one.`,
        confirmLabel: "Rotate token",
        returnFocus: () => rowButton(device.id, "rotate"),
      },
      async () => {
        const { token } = await manageApi.rotateDeviceToken(device.id);
        await showSecretOnce({
          title: `New token for ${device.name}`,
          lead: "The previous token no longer works. Give this one to the device.",
          label: `Token of ${device.name}`,
          secret: token,
          returnFocus: () => rowButton(device.id, "rotate") ?? heading,
        });
      },
      `The token of ${device.name} could not be rotated`,
    );
  }

  async function remove(device) {
    await confirmThenAct(
      app,
      {
        title: `Delete ${device.name}?`,
        message: `${device.name} will be deleted and its token stops working. Its readings are kept until they age out.`,
        confirmLabel: `Delete ${device.name}`,
        returnFocus: () => rowButton(device.id, "delete"),
      },
      async () => {
        await manageApi.deleteDevice(device.id);
        await load(true);
        heading.focus();
      },
      `${device.name} could not be deleted`,
    );
  }

  return {
    async enter() {
      await load(true);
    },
    leave() {
      closeDialogs();
      formError.hidden = true;
      table.clear();
    },
  };
}
