// The attendee's manage page: /book/manage/{bookingId}#token=<manage token> (under the routePrefix,
// /api/book/manage/...). A fragment never reaches a server (nor its logs); links sent before carried
// `?token=`, which is still read. Either way the token is moved out of the address bar into
// sessionStorage at once, and sent as `Authorization: Bearer` to read, reschedule or cancel this one
// booking. Opened with ?embedOrigin= in an iframe of that (allowed) origin, it tells the page
// around it of a reschedule or cancel (`tellEmbedder`).

import {
  $,
  api,
  browserTimeZone,
  clearAlert,
  el,
  meetingName,
  rangeLabel,
  showAlert,
  showProblem,
  status,
  tellEmbedder,
} from "./common.js";
import { MESSAGES } from "./messages.js";
import { SlotPicker } from "./picker.js";

const match = location.pathname.match(/\/book\/manage\/([^/]+)\/?$/);
const bookingId = match ? decodeURIComponent(match[1]) : "";
const storageKey = `slotbridge:manage:${bookingId}`;
const OVERRIDES = {
  unauthorized: "This manage link is not valid for this booking. Please use the link from your booking confirmation.",
  not_found: "We couldn't find this booking. Please check the link from your booking confirmation.",
};
const STATUS_TEXT = {
  confirmed: "Confirmed",
  cancelled: "Cancelled",
  cancelled_in_outlook: "Cancelled by the host",
};

let token = "";
let booking = null;
let zone = browserTimeZone();
let picker = null;
let target = null;

function only(...ids) {
  for (const id of ["booking", "confirm-cancel", "picker", "confirm-move"]) $(id).hidden = !ids.includes(id);
}

function render() {
  $("when").textContent = rangeLabel(booking.startUtc, booking.endUtc, zone);
  $("state").textContent = STATUS_TEXT[booking.status] || booking.status;
  const join = $("join");
  const showJoin = Boolean(booking.joinUrl) && booking.status === "confirmed";
  const meeting = showJoin ? meetingName(booking.joinUrl) : "";
  join.replaceChildren(showJoin ? el("a", { href: booking.joinUrl, target: "_blank", rel: "noopener" }, `Join the ${meeting} meeting`) : "");
  join.hidden = !showJoin;
  $("join-label").textContent = meeting || "Meeting";
  $("join-label").hidden = !showJoin;
  $("actions").hidden = booking.status !== "confirmed";
  only("booking");
}

function openPicker() {
  clearAlert();
  if (!picker) {
    picker = new SlotPicker($("picker-body"), booking.slug, choose, { zone });
  }
  picker.excluded.clear();
  picker.exclude(booking.startUtc);
  only("booking", "picker");
  $("picker-heading").focus();
  picker.load({ first: true });
}

function choose(slot, pickedZone) {
  zone = pickedZone;
  target = slot;
  $("move-to").textContent = rangeLabel(slot.startUtc, slot.endUtc, zone);
  only("booking", "confirm-move");
  $("confirm-move-heading").focus();
}

async function move() {
  clearAlert();
  $("move-yes").disabled = true;
  status("Moving your booking…");
  const answer = await api(`bookings/${encodeURIComponent(bookingId)}/reschedule`, {
    method: "POST",
    token,
    body: { start: target.startUtc },
  });
  $("move-yes").disabled = false;
  if (answer.ok) {
    const before = booking;
    booking = answer.data;
    tellEmbedder("booking_rescheduled", booking, { previousStartUtc: before.startUtc, previousEndUtc: before.endUtc });
    render();
    status(`Your booking has been moved to ${rangeLabel(booking.startUtc, booking.endUtc, zone)}.`);
    $("title").focus();
    return;
  }
  status("");
  if (answer.problem && answer.problem.code === "slot_unavailable") {
    picker.exclude(target.startUtc);
    showAlert(MESSAGES.slot_unavailable);
    only("booking", "picker");
    picker.load({ quiet: true });
    $("picker-heading").focus();
    return;
  }
  showProblem(answer.problem, OVERRIDES);
}

async function cancel() {
  clearAlert();
  $("cancel-yes").disabled = true;
  status("Cancelling your booking…");
  const answer = await api(`bookings/${encodeURIComponent(bookingId)}/cancel`, { method: "POST", token, body: {} });
  $("cancel-yes").disabled = false;
  if (!answer.ok) {
    status("");
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  const wasLive = booking.status === "confirmed";
  booking = answer.data;
  if (wasLive) tellEmbedder("booking_cancelled", booking);
  render();
  status("Your booking has been cancelled.");
  $("title").focus();
}

async function start() {
  const params = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get("token") || params.get("token");
  if (fromUrl) {
    sessionStorage.setItem(storageKey, fromUrl);
  }
  if (fragment.has("token") || params.has("token")) {
    params.delete("token");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
  }
  token = sessionStorage.getItem(storageKey) || "";
  $("reschedule").addEventListener("click", openPicker);
  $("picker-close").addEventListener("click", () => {
    only("booking");
    $("reschedule").focus();
  });
  $("cancel").addEventListener("click", () => {
    clearAlert();
    only("booking", "confirm-cancel");
    $("confirm-cancel-heading").focus();
  });
  $("cancel-no").addEventListener("click", () => {
    only("booking");
    $("cancel").focus();
  });
  $("cancel-yes").addEventListener("click", cancel);
  $("move-yes").addEventListener("click", move);
  $("move-no").addEventListener("click", () => {
    only("booking", "picker");
    $("picker-heading").focus();
  });
  if (!bookingId || !token) {
    showProblem({ code: "unauthorized" }, OVERRIDES);
    return;
  }
  status("Loading your booking…");
  const answer = await api(`bookings/${encodeURIComponent(bookingId)}`, { token });
  if (!answer.ok) {
    status("");
    showProblem(answer.problem, OVERRIDES);
    return;
  }
  booking = answer.data;
  zone = booking.attendeeTimeZone || zone;
  status("");
  render();
  const link = await api(`links/${encodeURIComponent(booking.slug)}`);
  if (link.ok) {
    $("what").textContent = link.data.title;
    $("what").hidden = $("what-label").hidden = false;
  }
}

start();
