// The tenant's settings on the admin page: the IANA time zone its daily trend buckets follow
// (docs/design/trends.md). The server checks the name against its zone database; the list offered here is
// the browser's own.
import { api } from "./api.js";
import { $, bind } from "./dom.js";

/** @param {{ reportError: (error: any, context: string) => boolean }} app */
export function createTenantSettings(app) {
  const form = /** @type {HTMLFormElement} */ ($("zone-form"));
  const input = /** @type {HTMLInputElement} */ ($("zone-input"));
  let listed = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    bind("zone-status").textContent = "Saving…";
    try {
      const { tenant } = await api.setTimeZone(input.value.trim());
      input.value = tenant.time_zone;
      bind("zone-status").textContent = `Saved: ${tenant.time_zone}`;
    } catch (error) {
      bind("zone-status").textContent = "";
      app.reportError(error, "The time zone could not be saved");
    }
  });

  return {
    async enter() {
      if (!listed && typeof Intl.supportedValuesOf === "function") {
        listed = true;
        $("zone-names").replaceChildren(
          ...["UTC", ...Intl.supportedValuesOf("timeZone")].map((name) => {
            const option = document.createElement("option");
            option.value = name;
            return option;
          }),
        );
      }
      try {
        const { tenant } = await api.tenant();
        input.value = tenant.time_zone;
        bind("zone-status").textContent = "";
      } catch (error) {
        app.reportError(error, "The tenant settings could not be loaded");
      }
    },
  };
}
