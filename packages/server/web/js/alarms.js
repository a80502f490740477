// Alarms (docs/design/alarms.md): the count of active alarms in the header, for every role, and the Alarms
// view, which lists the open ones (active first, most severe first, then acknowledged) with an Acknowledge
// button for operators and admins.
//
// Read budget (docs/design/dashboard.md): the badge asks the server every 30 s how many alarms are active
// (`GET /api/alarms/count`: one aggregation, billed one read per 1,000 alarms counted, at least one), so an
// open dashboard spends 2 reads a minute on it however many alarms are active, where listing them cost one
// read per alarm. The view, while shown, lists the active and the acknowledged ones every 10 s (one read
// per alarm listed) and feeds the badge; the live polling stops while the Alarms view is shown.
import { createRulesOverview } from "./alarm-rules.js";
import { api } from "./api.js";
import { $, bind } from "./dom.js";
import { describeMetric, formatAge, formatDateTime, formatWithUnit } from "./format.js";
import { Poller } from "./poller.js";
import { rowButton, severityBadge, tableRow } from "./table-rows.js";

const BADGE_INTERVAL_MS = 30_000;
const VIEW_INTERVAL_MS = 10_000;
const PAGE = 200;

/** Most severe first. */
export const SEVERITIES = ["critical", "major", "minor", "warning"];

/**
 * Active before acknowledged, then by severity, then newest raised first.
 * @param {{ state: string, severity: string, raised_ms: number }[]} alarms
 */
export function orderAlarms(alarms) {
  const stateRank = (alarm) => (alarm.state === "active" ? 0 : 1);
  const severityRank = (alarm) => {
    const rank = SEVERITIES.indexOf(alarm.severity);
    return rank < 0 ? SEVERITIES.length : rank;
  };
  return [...alarms].sort(
    (a, b) => stateRank(a) - stateRank(b) || severityRank(a) - severityRank(b) || b.raised_ms - a.raised_ms,
  );
}

/**
 * What crossed, named as the device's point definition says: "Zone temperature 29.5 °C", or "Offline".
 * @param {any} alarm
 * @param {Record<string, any>} definitions the device's point definitions
 */
function describeCondition(alarm, definitions) {
  if (alarm.kind === "offline" || !alarm.metric) return "Offline";
  const definition = definitions[alarm.metric];
  const { label } = describeMetric(alarm.metric, definition);
  return alarm.value == null ? label : `${label} ${formatWithUnit(alarm.value, alarm.metric, definition)}`;
}

/**
 * @param {{ reportError: (error: any, context: string) => boolean, clearError: () => void,
 *           currentUser: () => { id: string, role: string } | null }} app
 */
export function createAlarms(app) {
  const tbody = /** @type {HTMLElement} */ ($("alarms-table").querySelector("tbody"));
  /** @type {Map<string, { name: string, points: Record<string, any> }>} device id → name and points */
  let devices = new Map();
  const deviceName = (id) => devices.get(id)?.name ?? id;
  /** @type {Map<string, string>} user id → username (admins only: the user list is theirs) */
  let usernames = new Map();

  const badgePoller = new Poller(refreshBadge, { intervalMs: BADGE_INTERVAL_MS });
  const viewPoller = new Poller(refreshView, {
    intervalMs: VIEW_INTERVAL_MS,
    onError: (error) => app.reportError(error, "The alarms could not be refreshed"),
    onSuccess: () => app.clearError(),
  });
  bind("alarms-interval").textContent = String(VIEW_INTERVAL_MS / 1000);
  /** Every rule of the tenant, below the alarms (alarm-rules.js). */
  const rules = createRulesOverview(app, {
    // The deleted rule's alarm is cleared: the list and the badge say so at once.
    onDelete: () => viewPoller.running && refreshView().catch(() => viewPoller.poke()),
  });

  /** @param {number} count */
  function showCount(count) {
    const badge = $("alarm-badge");
    badge.hidden = count === 0;
    badge.textContent = String(count);
    $("alarms-tab").setAttribute(
      "aria-label",
      count === 0 ? "Alarms, none active" : `Alarms, ${count} active`,
    );
  }

  async function refreshBadge() {
    showCount((await api.alarmCount("active")).count);
  }

  async function refreshView() {
    const [active, acknowledged] = await Promise.all([
      api.alarms("active", PAGE),
      api.alarms("acknowledged", PAGE),
    ]);
    // The list counts the active alarms when it holds them all; past one page, the server counts.
    showCount(active.next_cursor ? (await api.alarmCount("active")).count : active.alarms.length);
    render(orderAlarms([...active.alarms, ...acknowledged.alarms]));
  }

  function render(alarms) {
    const user = app.currentUser();
    const canAcknowledge = user?.role === "admin" || user?.role === "operator";
    const now = Date.now();
    tbody.replaceChildren(
      ...alarms.map((alarm) => {
        const raised = document.createElement("span");
        raised.textContent = formatAge(alarm.raised_ms, now);
        raised.title = formatDateTime(alarm.raised_ms);
        const state = document.createElement("span");
        if (alarm.state === "acknowledged") {
          const by =
            alarm.acknowledged_by === user?.id
              ? "you"
              : (usernames.get(alarm.acknowledged_by) ?? alarm.acknowledged_by);
          state.textContent = `Acknowledged by ${by}`;
          state.title = formatDateTime(alarm.acknowledged_ms);
        } else state.textContent = "Active";
        const action = document.createElement("span");
        if (canAcknowledge && alarm.state === "active") {
          action.append(
            rowButton({
              text: "Acknowledge",
              label: `Acknowledge ${alarm.severity} alarm on ${deviceName(alarm.device_id)}`,
              quiet: false,
              onClick: (button) => acknowledge(alarm.id, button),
            }),
          );
        }
        const row = tableRow([
          severityBadge(alarm.severity),
          deviceName(alarm.device_id),
          describeCondition(alarm, devices.get(alarm.device_id)?.points ?? {}),
          raised,
          state,
          action,
        ]);
        row.dataset.alarmId = alarm.id;
        row.dataset.state = alarm.state;
        return row;
      }),
    );
    $("alarms-empty").hidden = alarms.length > 0;
  }

  async function acknowledge(id, button) {
    button.disabled = true;
    try {
      await api.acknowledgeAlarm(id);
      await refreshView();
    } catch (error) {
      button.disabled = false;
      app.reportError(error, "The alarm could not be acknowledged");
    }
  }

  async function loadNames() {
    try {
      const page = await api.devices();
      devices = new Map(
        page.devices.map((device) => [
          String(device.id),
          { name: String(device.name), points: device.points ?? {} },
        ]),
      );
    } catch {
      // Names make rows easier to read; ids are shown otherwise.
    }
    if (app.currentUser()?.role !== "admin") return;
    try {
      const users = await api.users();
      usernames = new Map(users.map((user) => [String(user.id), String(user.username)]));
    } catch {
      // As above: ids instead of usernames.
    }
  }

  return {
    /** Signed in: the badge starts counting. */
    start() {
      badgePoller.start();
    },
    /** Signed out: nothing polls. */
    stop() {
      badgePoller.stop();
      viewPoller.stop();
      tbody.replaceChildren();
      rules.leave();
      showCount(0);
    },
    async enter() {
      // The view's own poll feeds the badge meanwhile.
      badgePoller.stop();
      await loadNames();
      viewPoller.start();
      await rules.enter(devices);
    },
    leave() {
      viewPoller.stop();
      rules.leave();
      badgePoller.start();
    },
  };
}
