// Shared helpers of the pages: the API base (derived from where this file is served, so the
// routePrefix is never hard-coded), JSON requests that return problem documents, DOM building,
// status/alert regions and time formatting in a chosen IANA time zone.

import { problemMessage } from "./messages.js";

// web/ is served at <prefix>/web/, the API at <prefix>/.
export const API_BASE = new URL("../", import.meta.url).href.replace(/\/$/, "");

/**
 * Call the API. Resolves to {ok, status, data, problem}; never throws for HTTP errors.
 * A network failure gives {ok: false, status: 0, problem: null}.
 */
export async function api(path, { method = "GET", body, token, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${API_BASE}/${path}`, init);
  } catch {
    return { ok: false, status: 0, data: null, problem: null };
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return { ok: true, status: response.status, data, problem: null };
  const problem =
    data && typeof data.code === "string"
      ? data
      : { code: response.status >= 500 ? "service_unavailable" : "internal_error", status: response.status };
  return { ok: false, status: response.status, data: null, problem };
}

/** Build an element: el("a", {href: "…", class: "x"}, "text", child). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** The polite status line (role=status) and the alert box (role=alert) every page has. */
export function status(text) {
  $("status").textContent = text || "";
}

export function clearAlert() {
  const box = $("alert");
  box.hidden = true;
  box.replaceChildren();
}

export function showAlert(text, extra = []) {
  const box = $("alert");
  box.replaceChildren(el("p", {}, text), ...extra);
  box.hidden = false;
}

/** Show a problem document (or a network failure) as a clear sentence, plus field errors. */
export function showProblem(problem, overrides = {}) {
  const extra = [];
  if (problem && Array.isArray(problem.errors) && problem.errors.length && problem.code === "validation_error") {
    extra.push(el("ul", {}, problem.errors.map((e) => el("li", {}, `${e.field}: ${e.message}`))));
  }
  if (problem && problem.adminConsentUrl) {
    extra.push(
      el("p", {}, el("a", { href: problem.adminConsentUrl, target: "_blank", rel: "noopener" }, "Approval link for your administrator")),
    );
  }
  showAlert(problemMessage(problem, overrides), extra);
}

// --- time -------------------------------------------------------------------------------------

export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function timeZones(current) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
  }
  for (const zone of [current, "UTC"]) if (zone && !zones.includes(zone)) zones = [zone, ...zones];
  return zones;
}

/** Today's date (YYYY-MM-DD) in `zone`. */
export function todayIn(zone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** "Monday 23 November" for a calendar date (no zone arithmetic: the date is already local). */
export function dateLabel(isoDate, options = { weekday: "long", day: "numeric", month: "long" }) {
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(`${isoDate}T12:00:00Z`));
}

export function timeLabel(utcIso, zone) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(new Date(utcIso));
}

/** "Monday 23 November 2026, 10:00 – 10:30 (Europe/Berlin)" */
export function rangeLabel(startUtc, endUtc, zone) {
  const day = new Intl.DateTimeFormat(undefined, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: zone,
  }).format(new Date(startUtc));
  return `${day}, ${timeLabel(startUtc, zone)} – ${timeLabel(endUtc, zone)} (${zone})`;
}

// The online meeting of a booking, named after the service of the host it was assigned to: Google
// Meet for a Google host, Microsoft Teams for a Microsoft one (the join link says which).
export function meetingName(joinUrl) {
  try {
    return new URL(joinUrl).hostname === "meet.google.com" ? "Google Meet" : "Microsoft Teams";
  } catch {
    return "Microsoft Teams";
  }
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The product page embedding this one, as the server checked it against SLOTBRIDGE_ALLOWED_ORIGINS
// (`?embedOrigin=`); empty when none was named or it is not allowed.
const EMBED_ORIGIN = document.querySelector('meta[name="slotbridge-embed-origin"]')?.content || "";

/**
 * In an iframe of an allowed origin, tell that page what happened to a booking:
 * {type: "slotbridge:booking_created" | "…_rescheduled" | "…_cancelled", bookingId, slug, startUtc,
 * endUtc, start, end, timeZone, …extra}. Only ever to that exact origin (never "*"), so a page of
 * any other origin receives nothing; no token or attendee data goes along.
 */
export function tellEmbedder(event, booking, extra = {}) {
  if (!EMBED_ORIGIN || window.parent === window) return;
  const { bookingId, slug, startUtc, endUtc, start, end, timeZone } = booking;
  window.parent.postMessage(
    { type: `slotbridge:${event}`, bookingId, slug, startUtc, endUtc, start, end, timeZone, ...extra },
    EMBED_ORIGIN,
  );
}

/** In an iframe (the embeddable variant), tell the parent page how tall the content is. */
export function reportHeightToParent() {
  if (window.parent === window || typeof ResizeObserver === "undefined") return;
  const send = () =>
    window.parent.postMessage({ type: "slotbridge:resize", height: document.documentElement.scrollHeight }, "*");
  new ResizeObserver(send).observe(document.body);
  send();
}
