// The dashboard's shell: session, sign-in, routing between views (#/live[/device], #/alarms, #/manage,
// #/account, #/admin), and the one error banner every view reports through.
import { ApiError, api, loadConfig, setTenant } from "./api.js";
import { $, bind } from "./dom.js";
import { formatWait } from "./format.js";

const TENANT_KEY = "firebrick.tenant";

/** @type {{ id: string, username: string, role: string, tenant_id: string } | null} */
let user = null;
let live = null;
let admin = null;
/** The tenant's settings on the admin page (tenant-settings.js). */
let tenantSettings = null;
/** The header's alarm count and the Alarms view (alarms.js). */
let alarms = null;
/** Devices and users on the Manage view (manage-devices.js, manage-users.js), admins only. */
let manageDevices = null;
let manageUsers = null;
/** The signed-in user's own sessions (account.js). */
let account = null;
/** The admin page's Webhooks panel (webhooks.js). */
let webhooks = null;
let currentView = null;

const app = {
  reportError,
  clearError,
  currentUser: () => user,
  /** This session has ended (the user ended it from a session list): back to sign-in, with a notice. */
  signOut(message) {
    location.hash = "";
    signedOut(message, "notice");
  },
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

/**
 * Shows a failure in the banner. Returns true when the failure was handled globally (an expired session
 * sends the user back to sign-in), so that views know not to render it again.
 * @param {any} error
 * @param {string} context
 */
function reportError(error, context) {
  if (!(error instanceof ApiError)) {
    showBanner(context, error instanceof Error ? error.message : String(error), "");
    return false;
  }
  const meta = [
    error.status ? `${error.status} ${error.code}` : null,
    error.requestId ? `request ${error.requestId}` : null,
  ]
    .filter(Boolean)
    .join(" · ");
  if (error.status === 401) {
    signedOut("Your session has ended. Please sign in again.");
    return true;
  }
  if (error.status === 403) {
    const message =
      error.code === "TENANT_MISMATCH"
        ? "This session belongs to another tenant. Sign out and sign in to this tenant."
        : `You do not have permission for this. ${error.message}`;
    showBanner("Access denied", message, meta, "error");
    return false;
  }
  if (error.status === 429) {
    const wait = error.retryAfterMs != null ? ` Retrying in ${Math.ceil(error.retryAfterMs / 1000)} s.` : "";
    showBanner("Slowing down", `The server is rate-limiting requests.${wait}`, meta, "warning");
    return false;
  }
  if (error.status === 0) {
    showBanner("Offline", error.message, "", "warning");
    return false;
  }
  showBanner(context, error.message, meta, "error");
  return false;
}

function showBanner(title, message, meta, tone = "error") {
  const banner = $("banner");
  banner.dataset.tone = tone;
  bind("banner-title").textContent = title;
  bind("banner-message").textContent = message;
  bind("banner-meta").textContent = meta;
  banner.hidden = false;
}

function clearError() {
  $("banner").hidden = true;
}

function showView(name) {
  for (const view of ["login", "live", "alarms", "admin", "manage", "account"])
    $(`view-${view}`).hidden = view !== name;
  for (const tab of document.querySelectorAll(".tab")) {
    const element = /** @type {HTMLElement} */ (tab);
    if (element.dataset.tab === name) element.setAttribute("aria-current", "page");
    else element.removeAttribute("aria-current");
  }
  document.body.dataset.view = name;
}

function renderSession() {
  const signedIn = user !== null;
  /** @type {HTMLElement} */ for (const element of document.querySelectorAll("[data-signed-in]"))
    element.hidden = !signedIn;
  /** @type {HTMLElement} */ for (const element of document.querySelectorAll("[data-admin-only]"))
    element.hidden = user?.role !== "admin";
  if (!user) return;
  bind("tenant").textContent = user.tenant_id;
  bind("username").textContent = user.username;
  bind("role").textContent = user.role;
  bind("role").dataset.role = user.role;
}

async function route() {
  if (!user) {
    leaveViews();
    showView("login");
    return;
  }
  const [section, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  if (currentView === "alarms" && section !== "alarms") alarms.leave();
  if (currentView === "manage" && section !== "manage") {
    manageDevices.leave();
    manageUsers.leave();
  }
  if (currentView === "account" && section !== "account") account.leave();
  if (section === "account") {
    if (currentView !== "account") {
      live?.leave();
      currentView = "account";
      showView("account");
    }
    await account.enter();
    return;
  }
  if (section === "manage" && user.role === "admin") {
    if (currentView !== "manage") {
      live?.leave();
      currentView = "manage";
      showView("manage");
    }
    await Promise.all([manageDevices.enter(), manageUsers.enter()]);
    return;
  }
  if (section === "admin") {
    if (currentView !== "admin") {
      live?.leave();
      currentView = "admin";
      showView("admin");
    }
    await Promise.all([admin.enter(), tenantSettings.enter(), webhooks.enter()]);
    return;
  }
  if (section === "alarms") {
    if (currentView !== "alarms") {
      live?.leave();
      currentView = "alarms";
      showView("alarms");
      await alarms.enter();
    }
    return;
  }
  currentView = "live";
  showView("live");
  const deviceId = rest[0] ? decodeURIComponent(rest[0]) : null;
  await live.enter(deviceId);
}

function leaveViews() {
  live?.reset();
  admin?.leave();
  alarms?.stop();
  manageDevices?.leave();
  manageUsers?.leave();
  account?.leave();
  currentView = null;
}

/**
 * @param {string} [message] shown above the form
 * @param {"error" | "notice"} [tone] a notice (the user signed out) is not an error
 */
function signedOut(message, tone = "error") {
  user = null;
  leaveViews();
  renderSession();
  clearError();
  const error = $("login-error");
  const notice = $("login-notice");
  error.textContent = tone === "error" ? (message ?? "") : "";
  error.hidden = tone !== "error" || !message;
  notice.textContent = tone === "notice" ? (message ?? "") : "";
  notice.hidden = tone !== "notice" || !message;
  showView("login");
  /** @type {HTMLInputElement} */ (
    $(localStorage.getItem(TENANT_KEY) ? "login-username" : "login-tenant")
  ).focus();
}

async function signedIn(nextUser) {
  user = nextUser;
  renderSession();
  clearError();
  $("login-error").hidden = true;
  $("login-notice").hidden = true;
  alarms.start();
  await route();
}

async function onLogin(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = new FormData(form);
  const tenant = String(data.get("tenant") ?? "").trim();
  const username = String(data.get("username") ?? "").trim();
  const password = String(data.get("password") ?? "");
  const error = $("login-error");
  const missing = [!tenant && "tenant", !username && "username", !password && "password"].filter(Boolean);
  if (missing.length) {
    error.textContent = `Please enter your ${missing.join(", ")}.`;
    error.hidden = false;
    $("login-notice").hidden = true;
    return;
  }
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  submit.disabled = true;
  submit.textContent = "Signing in…";
  setTenant(tenant);
  try {
    const body = await api.login(username, password);
    localStorage.setItem(TENANT_KEY, tenant);
    /** @type {HTMLInputElement} */ (form.elements.namedItem("password")).value = "";
    await signedIn(body.user);
  } catch (failure) {
    error.textContent =
      failure instanceof ApiError && failure.status === 401
        ? "The tenant, username or password is not right."
        : failure instanceof ApiError && failure.status === 429
          ? `Too many attempts. Try again${failure.retryAfterMs ? ` in ${formatWait(failure.retryAfterMs)}` : " later"}.`
          : failure instanceof ApiError && failure.status === 0
            ? failure.message
            : `Sign-in failed: ${failure.message}`;
    error.hidden = false;
    $("login-notice").hidden = true;
  } finally {
    submit.disabled = false;
    submit.textContent = "Sign in";
  }
}

async function onLogout() {
  try {
    await api.logout();
  } catch {
    // Signing out locally is what the user asked for, whether or not the server heard it.
  }
  location.hash = "";
  signedOut("You have signed out.", "notice");
}

async function start() {
  const [
    { createLiveView },
    { createAdminView },
    { createTenantSettings },
    { createAlarms },
    { createManageDevices },
    { createManageUsers },
    { createAccountView },
    { createWebhooksPanel },
  ] = await Promise.all([
    import("./live.js"),
    import("./admin.js"),
    import("./tenant-settings.js"),
    import("./alarms.js"),
    import("./manage-devices.js"),
    import("./manage-users.js"),
    import("./account.js"),
    import("./webhooks.js"),
    loadConfig(),
  ]);
  manageDevices = createManageDevices(app);
  manageUsers = createManageUsers(app);
  account = createAccountView(app);
  alarms = createAlarms(app);
  live = createLiveView(app);
  admin = createAdminView(app);
  tenantSettings = createTenantSettings(app);
  webhooks = createWebhooksPanel(app);

  $("login-form").addEventListener("submit", onLogin);
  document.querySelector('[data-action="logout"]')?.addEventListener("click", onLogout);
  document.querySelector('[data-action="dismiss-banner"]')?.addEventListener("click", clearError);
  window.addEventListener("hashchange", () => route());

  const tenant = localStorage.getItem(TENANT_KEY) ?? "";
  /** @type {HTMLInputElement} */ ($("login-tenant")).value = tenant;
  if (tenant) {
    setTenant(tenant);
    try {
      const body = await api.me();
      if (body.user) {
        await signedIn(body.user);
        return;
      }
    } catch {
      // No session (401) or an unreachable server: either way, the sign-in form is the place to start.
    }
  }
  signedOut();
}

start();
