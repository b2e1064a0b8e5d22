// A host's settings page: /settings (under the routePrefix, /api/settings).
//
// The product opens it with a short-lived user token in the URL fragment: /api/settings#token=<token>.
// A fragment never reaches a server (nor its logs); the page moves the token into sessionStorage (it
// survives the redirect fallback of Connect, and reloads) and removes it from the address bar.
//
// Connect Outlook / Connect Google Calendar: a pop-up is opened on the click (so pop-up blockers allow
// it), then pointed at the provider's sign-in URL; the sign-in ends on /api/auth/callback, which posts
// {type: "slotbridge:connect", status, connectionId | code} back to this page and closes. When the
// browser blocks the pop-up, the page falls back to a full redirect that returns here with
// ?slotbridge_connect=connected|error.

import { $, api, clearAlert, el, showAlert, showProblem, status } from "./common.js";
import { MESSAGES, problemMessage } from "./messages.js";

const TOKEN_KEY = "slotbridge:userToken";
const OVERRIDES = {
  unauthorized:
    "Your settings session has expired or is not valid. Please open the calendar settings again from the product.",
  not_found: "That account or calendar no longer exists. The list has been refreshed.",
};

let token = "";
let userId = "";
let popupWatch = null;
let connecting = false;
let calendarState = { blockingShowAs: null };

// What each provider is called on this page.
const PROVIDERS = {
  microsoft: { service: "Outlook", signIn: "Microsoft", account: "Outlook account" },
  google: { service: "Google Calendar", signIn: "Google", account: "Google account" },
};
const providerOf = (account) => PROVIDERS[account.provider] || PROVIDERS.microsoft;

function userIdFromToken(value) {
  try {
    const payload = value.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const json = JSON.parse(atob(payload + "=".repeat((4 - (payload.length % 4)) % 4)));
    return typeof json.sub === "string" ? json.sub : "";
  } catch {
    return "";
  }
}

function takeTokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

const userPath = (suffix) => `users/${encodeURIComponent(userId)}/${suffix}`;

// --- accounts ---------------------------------------------------------------------------------

let accounts = [];

async function loadAccounts() {
  const answer = await api(userPath("connections"), { token });
  if (!answer.ok) {
    showProblem(answer.problem, OVERRIDES);
    return false;
  }
  accounts = answer.data.connections;
  renderAccounts();
  return true;
}

function renderAccounts() {
  const list = $("account-list");
  list.replaceChildren(
    ...accounts.map((account) => {
      const needsReconnect = account.status === "needs_reconnect";
      const who = el("span", { class: "visually-hidden" }, ` ${account.email}`);
      const confirmBox = el("div", { class: "confirm", hidden: true });
      const disconnect = el(
        "button",
        {
          type: "button",
          class: "danger-outline",
          onclick: () => {
            confirmBox.hidden = false;
            confirmBox.querySelector("button").focus();
          },
        },
        "Disconnect",
        who.cloneNode(true),
      );
      confirmBox.append(
        el("p", {}, `Disconnect ${account.email}? Events already in ${providerOf(account).service} stay there.`),
        el(
          "button",
          { type: "button", class: "danger", onclick: () => disconnectAccount(account) },
          "Yes, disconnect",
          who.cloneNode(true),
        ),
        el(
          "button",
          {
            type: "button",
            onclick: () => {
              confirmBox.hidden = true;
              disconnect.focus();
            },
          },
          "Keep",
        ),
      );
      return el(
        "li",
        { class: "account", "data-connection": account.connectionId },
        el(
          "div",
          { class: "account-head" },
          el("strong", { class: "account-email" }, account.email),
          el(
            "span",
            { class: `badge ${needsReconnect ? "badge-warn" : "badge-ok"}` },
            needsReconnect ? "Needs reconnect" : "Connected",
          ),
        ),
        el(
          "p",
          { class: "muted" },
          [
            providerOf(account).service,
            account.displayName,
            account.accountType === "personal" ? "Personal account" : "Work or school account",
          ]
            .filter(Boolean)
            .join(" · "),
        ),
        needsReconnect ? el("p", { class: "notice" }, MESSAGES.needs_reconnect) : null,
        el(
          "div",
          { class: "actions" },
          el(
            "button",
            {
              type: "button",
              class: needsReconnect ? "primary" : "",
              onclick: () => connect(account.provider === "google" ? "google" : "microsoft"),
            },
            "Reconnect",
            who.cloneNode(true),
          ),
          el(
            "button",
            { type: "button", disabled: needsReconnect, onclick: () => syncNow(account) },
            "Sync now",
            who.cloneNode(true),
          ),
          disconnect,
        ),
        confirmBox,
      );
    }),
  );
  $("no-accounts").hidden = accounts.length > 0;
  const has = (provider) => accounts.some((a) => (a.provider || "microsoft") === provider);
  $("connect").textContent = has("microsoft") ? "Connect another Outlook account" : "Connect Outlook";
  $("connect-google").textContent = has("google") ? "Connect another Google account" : "Connect Google Calendar";
}

async function disconnectAccount(account) {
  clearAlert();
  status(`Disconnecting ${account.email}…`);
  const answer = await api(userPath(`connections/${encodeURIComponent(account.connectionId)}`), {
    method: "DELETE",
    token,
  });
  if (!answer.ok && answer.status !== 404) {
    status("");
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  $("connected").hidden = true;
  await refresh();
  status(`${account.email} is disconnected.`);
  $("connect").focus();
}

async function syncNow(account) {
  clearAlert();
  status(`Syncing ${account.email}…`);
  const answer = await api(userPath(`connections/${encodeURIComponent(account.connectionId)}/sync`), {
    method: "POST",
    token,
  });
  if (!answer.ok) {
    status("");
    showProblem(answer.problem, OVERRIDES);
    if (answer.problem && answer.problem.code === "needs_reconnect") await loadAccounts();
    return;
  }
  status(`Sync started for ${account.email}. Busy times are refreshed in the background.`);
}

// --- connect ----------------------------------------------------------------------------------

async function connect(provider = "microsoft") {
  if (connecting) return;
  const names = PROVIDERS[provider];
  clearAlert();
  $("connected").hidden = true;
  // Open the pop-up now, inside the click: a pop-up opened after an await is blocked by browsers.
  const popup = window.open("", "slotbridge-connect", "popup,width=520,height=720");
  if (popup) {
    try {
      popup.document.title = `Connecting ${names.service}…`;
      popup.document.body.textContent = `Opening the ${names.signIn} sign-in…`;
    } catch {
      /* not ours to write; fine */
    }
  }
  connecting = true;
  const mode = popup ? "popup" : "redirect";
  status(popup ? `Sign in to ${names.signIn} in the pop-up window…` : "The pop-up was blocked: continuing in this window…");
  const answer = await api(userPath("connections"), {
    method: "POST",
    token,
    body: { mode, provider, openerOrigin: location.origin, returnUrl: location.origin + location.pathname },
  });
  if (!answer.ok) {
    connecting = false;
    if (popup) popup.close();
    status("");
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  if (!popup) {
    location.assign(answer.data.authorizationUrl);
    return;
  }
  popup.location.href = answer.data.authorizationUrl;
  watchPopup(popup);
}

function watchPopup(popup) {
  clearInterval(popupWatch);
  popupWatch = setInterval(() => {
    if (!popup.closed) return;
    clearInterval(popupWatch);
    // The result message may still be on its way: give it a moment before calling it abandoned.
    setTimeout(() => {
      if (!connecting) return;
      connecting = false;
      status("");
      showAlert("The sign-in window was closed before it finished. Press Connect to try again.");
    }, 1000);
  }, 400);
}

async function connectResult(result) {
  connecting = false;
  clearInterval(popupWatch);
  if (result.status === "connected") {
    await refresh();
    const account = accounts.find((a) => a.connectionId === result.connectionId);
    const email = account ? account.email : "Your calendar account";
    $("connected-text").textContent = `${email} is connected. Now choose your calendars below.`;
    $("connected").hidden = false;
    status(`Connected ${email}.`);
    $("connected").focus();
    return;
  }
  await refresh();
  status("");
  showProblem({ code: result.code || "internal_error", detail: result.message, adminConsentUrl: result.adminConsentUrl });
}

window.addEventListener("message", (event) => {
  // Only the callback page of this app (same origin) speaks this protocol.
  if (event.origin !== location.origin) return;
  const data = event.data;
  if (!data || data.type !== "slotbridge:connect") return;
  connectResult(data);
});

function resultFromRedirect() {
  const params = new URLSearchParams(location.search);
  const outcome = params.get("slotbridge_connect");
  if (!outcome) return null;
  const result = { status: outcome, connectionId: params.get("connectionId"), code: params.get("code") };
  for (const name of ["slotbridge_connect", "connectionId", "code"]) params.delete(name);
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
  return result;
}

// --- calendars --------------------------------------------------------------------------------

function calendarLabel(cal) {
  const notes = [];
  if (cal.isDefault) notes.push("default");
  if (cal.owner && cal.owner.address && cal.accountEmail && cal.owner.address.toLowerCase() !== cal.accountEmail.toLowerCase()) {
    notes.push(`shared by ${cal.owner.name || cal.owner.address}`);
  }
  if (!cal.canEdit) notes.push("read-only");
  return notes.length ? `${cal.name} (${notes.join(", ")})` : cal.name;
}

const calKey = (cal) => `${cal.connectionId}|${cal.calendarId}`;

// A chosen calendar Outlook no longer has (`calendar_missing`): which one, what it breaks, what to do.
function missingCalendarMessage(m) {
  const name = m.name ? `“${m.name}”` : "A calendar you chose";
  const account = m.accountEmail ? ` (${m.accountEmail})` : "";
  const effects = [];
  if (m.checkForConflicts) effects.push("your booking pages offer no times until it is replaced");
  if (m.addBookings) effects.push("new bookings fail because they have nowhere to go");
  return (
    `${name}${account} was deleted in Outlook or is no longer shared with you, so ${effects.join(" and ") || "it is not used"}. ` +
    "Pick another calendar below (or leave it out) and press Save calendars."
  );
}

async function loadCalendars() {
  const answer = await api(userPath("calendars"), { token });
  if (!answer.ok) {
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  const { calendars, unavailable } = answer.data;
  const missing = answer.data.missing || [];
  calendarState = { blockingShowAs: answer.data.blockingShowAs ?? null, calendars };
  $("unavailable").replaceChildren(
    ...unavailable.map((u) => {
      const account = accounts.find((a) => a.connectionId === u.connectionId);
      return el("p", { class: "notice" }, `${account ? account.email : "An account"}: ${problemMessage({ code: u.code })}`);
    }),
    ...missing.map((m) => el("p", { class: "notice missing-calendar" }, missingCalendarMessage(m))),
  );
  $("calendars").hidden = accounts.length === 0;
  const byAccount = new Map();
  for (const cal of calendars) {
    const key = cal.accountEmail || cal.connectionId;
    if (!byAccount.has(key)) byAccount.set(key, []);
    byAccount.get(key).push(cal);
  }
  const conflictGroups = [];
  const writeGroups = [];
  let index = 0;
  for (const [email, cals] of byAccount) {
    conflictGroups.push(
      el(
        "div",
        { class: "choice-group" },
        byAccount.size > 1 ? el("p", { class: "group-title" }, email) : null,
        cals.map((cal) => {
          const id = `conflict-${index++}`;
          return el(
            "div",
            { class: "choice" },
            el("input", { type: "checkbox", id, name: "conflict", value: calKey(cal), checked: cal.checkForConflicts }),
            el("label", { for: id }, calendarLabel(cal)),
          );
        }),
      ),
    );
    const writable = cals.filter((cal) => cal.canEdit);
    writeGroups.push(
      el(
        "div",
        { class: "choice-group" },
        byAccount.size > 1 ? el("p", { class: "group-title" }, email) : null,
        writable.map((cal) => {
          const id = `write-${index++}`;
          return el(
            "div",
            { class: "choice" },
            el("input", { type: "radio", id, name: "write", value: calKey(cal), checked: cal.addBookings }),
            el("label", { for: id }, calendarLabel(cal)),
          );
        }),
      ),
    );
  }
  $("conflict-list").replaceChildren(...conflictGroups);
  $("write-list").replaceChildren(...writeGroups);
}

async function saveCalendars(event) {
  event.preventDefault();
  clearAlert();
  const ref = (value) => {
    const [connectionId, ...rest] = value.split("|");
    return { connectionId, calendarId: rest.join("|") };
  };
  const conflictCalendars = [...document.querySelectorAll('input[name="conflict"]:checked')].map((i) => ref(i.value));
  const write = document.querySelector('input[name="write"]:checked');
  $("save").disabled = true;
  status("Saving…");
  const answer = await api(userPath("calendar-settings"), {
    method: "PUT",
    token,
    body: {
      conflictCalendars,
      writeCalendar: write ? ref(write.value) : null,
      blockingShowAs: calendarState.blockingShowAs,
    },
  });
  $("save").disabled = false;
  if (!answer.ok) {
    status("");
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  status("Calendars saved.");
  await loadCalendars(); // a calendar reported missing is cleared by saving: take its notice away
}

// --- start ------------------------------------------------------------------------------------

async function refresh() {
  if (await loadAccounts()) await loadCalendars();
}

async function start() {
  token = takeTokenFromFragment();
  userId = token ? userIdFromToken(token) : "";
  $("connect").addEventListener("click", () => connect("microsoft"));
  $("connect-google").addEventListener("click", () => connect("google"));
  $("calendar-form").addEventListener("submit", saveCalendars);
  if (!userId) {
    showAlert(
      "This page needs a sign-in link from the product. Please open the calendar settings from the product again.",
    );
    return;
  }
  const redirected = resultFromRedirect();
  $("accounts").hidden = false;
  status("Loading…");
  if (redirected) {
    await connectResult(redirected);
    return;
  }
  await refresh();
  status("");
}

start();
