// The Webhooks panel of the admin page (docs/design/webhooks.md): the tenant's webhooks, a form to add one
// (its signing secret is shown once, with a copy button), deletion, and each webhook's last delivery
// attempts. The server decides who may use it: admins only.
import { request } from "./api.js";
import { $ } from "./dom.js";
import { formatDateTime } from "./format.js";

/** Attempts shown per webhook: the latest ones; the API pages further. */
const ATTEMPTS_SHOWN = 5;

/** @param {string} tag @param {string} [text] @param {string} [className] */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** What an attempt gave, in words: the receiver's status, or why there was none. */
function outcome(attempt) {
  if (attempt.status_code !== null) return `HTTP ${attempt.status_code}`;
  return attempt.error ?? "no answer";
}

/** @param {{ reportError: (error: any, context: string) => boolean }} app */
export function createWebhooksPanel(app) {
  const form = /** @type {HTMLFormElement} */ ($("webhook-form"));
  const list = $("webhooks-list");
  const secretBox = $("webhook-secret");
  const secretValue = $("webhook-secret-value");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const description = String(data.get("description") ?? "").trim();
    try {
      const { secret } = await request("POST", "/api/webhooks", {
        url: String(data.get("url") ?? "").trim(),
        ...(description && { description }),
      });
      form.reset();
      // Shown this once: the server keeps no way to show it again (a rotation makes a new one).
      secretValue.textContent = secret;
      secretBox.hidden = false;
      await load();
    } catch (error) {
      app.reportError(error, "The webhook could not be added");
    }
  });
  $("webhook-secret-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secretValue.textContent ?? "");
      $("webhook-secret-copy").textContent = "Copied";
    } catch {
      // No clipboard access (an insecure context, a denied permission): the secret is there to select.
      $("webhook-secret-copy").textContent = "Select and copy";
    }
  });
  $("webhook-secret-dismiss").addEventListener("click", () => {
    secretValue.textContent = "";
    secretBox.hidden = true;
  });
  $("webhooks-refresh").addEventListener("click", () => load());

  async function remove(webhook) {
    if (!window.confirm(`Delete the webhook to ${webhook.url}? Its pending deliveries are given up.`)) return;
    try {
      await request("DELETE", `/api/webhooks/${encodeURIComponent(webhook.id)}`);
      await load();
    } catch (error) {
      app.reportError(error, "The webhook could not be deleted");
    }
  }

  /** One webhook: its URL and description, a delete button, and its latest attempts. */
  async function card(webhook) {
    const item = element("li", undefined, "webhook");
    const head = element("div", undefined, "webhook-head");
    const title = element("div");
    title.append(element("code", webhook.url));
    if (webhook.description) title.append(element("div", webhook.description, "muted small"));
    const remover = element("button", "Delete", "button");
    remover.type = "button";
    remover.addEventListener("click", () => remove(webhook));
    head.append(title, remover);
    item.append(head);
    const { attempts } = await request(
      "GET",
      `/api/webhooks/${encodeURIComponent(webhook.id)}/deliveries?limit=${ATTEMPTS_SHOWN}`,
    );
    if (attempts.length === 0) {
      item.append(element("p", "No delivery yet.", "muted small"));
      return item;
    }
    const table = element("table", undefined, "table webhook-attempts");
    const header = element("tr");
    for (const name of ["Time", "Event", "Attempt", "Outcome", "Duration", "Next attempt"])
      header.append(element("th", name));
    table.append(element("thead"));
    table.tHead?.append(header);
    const body = element("tbody");
    for (const attempt of attempts) {
      const row = element("tr");
      row.append(
        element("td", formatDateTime(attempt.at_ms)),
        element("td", attempt.event),
        element("td", String(attempt.attempt)),
        element("td", `${outcome(attempt)} · ${attempt.state}`),
        element("td", `${attempt.duration_ms} ms`),
        element("td", attempt.next_attempt_ms === null ? "—" : formatDateTime(attempt.next_attempt_ms)),
      );
      body.append(row);
    }
    table.append(body);
    item.append(table);
    return item;
  }

  async function load() {
    try {
      const { webhooks } = await request("GET", "/api/webhooks");
      if (webhooks.length === 0) {
        list.replaceChildren(element("li", "No webhook yet.", "muted small"));
        return;
      }
      list.replaceChildren(...(await Promise.all(webhooks.map(card))));
    } catch (error) {
      app.reportError(error, "The webhooks could not be loaded");
    }
  }

  return {
    enter: load,
  };
}
