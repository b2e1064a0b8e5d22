// The public booking page: /book/{slug} (under the routePrefix, /api/book/{slug}); ?embed=1 is the
// compact variant for an <iframe>; with ?embedOrigin= an allowed parent gets the booking's events.

import {
  $,
  api,
  clearAlert,
  el,
  meetingName,
  newIdempotencyKey,
  rangeLabel,
  reportHeightToParent,
  showAlert,
  showProblem,
  status,
  tellEmbedder,
} from "./common.js";
import { MESSAGES } from "./messages.js";
import { SlotPicker } from "./picker.js";

const match = location.pathname.match(/\/book\/([^/]+)\/?$/);
const slug = match ? decodeURIComponent(match[1]) : "";
const embedded = new URLSearchParams(location.search).get("embed") === "1";

let link = null;
let picker = null;
let chosen = null; // {slot, zone}
let idempotencyKey = null;
let submitting = false;

function showSection(id) {
  for (const section of ["picker", "details", "done"]) $(section).hidden = section !== id;
}

function pick(slot, zone) {
  chosen = { slot, zone };
  idempotencyKey = newIdempotencyKey();
  clearAlert();
  $("chosen").textContent = rangeLabel(slot.startUtc, slot.endUtc, zone);
  showSection("details");
  status(`Selected ${rangeLabel(slot.startUtc, slot.endUtc, zone)}. Enter your name and e-mail.`);
  $("name").focus();
}

function backToPicker({ reload = false } = {}) {
  showSection("picker");
  if (reload) picker.load({ quiet: true });
  $("picker-heading").focus();
}

function fieldError(id, message) {
  const input = $(id);
  const error = $(`${id}-error`);
  if (message) {
    input.setAttribute("aria-invalid", "true");
    error.textContent = message;
    error.hidden = false;
  } else {
    input.removeAttribute("aria-invalid");
    error.textContent = "";
    error.hidden = true;
  }
}

function validate() {
  const name = $("name").value.trim();
  const email = $("email").value.trim();
  fieldError("name", name ? "" : "Please enter your name.");
  fieldError("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? "" : "Please enter an e-mail address like name@example.com.");
  if (!name) return $("name");
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return $("email");
  return null;
}

async function submit(event) {
  event.preventDefault();
  if (submitting || !chosen) return;
  clearAlert();
  const invalid = validate();
  if (invalid) {
    status("Please correct the highlighted fields.");
    invalid.focus();
    return;
  }
  submitting = true;
  $("book").disabled = true;
  status("Booking…");
  const body = {
    start: chosen.slot.startUtc,
    attendee: { name: $("name").value.trim(), email: $("email").value.trim() },
    timezone: chosen.zone,
  };
  const notes = $("notes").value.trim();
  if (notes) body.notes = notes;
  const answer = await api(`links/${encodeURIComponent(slug)}/bookings`, {
    method: "POST",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
  });
  submitting = false;
  $("book").disabled = false;
  if (answer.ok) {
    confirmation(answer.data);
    tellEmbedder("booking_created", answer.data);
    return;
  }
  const problem = answer.problem;
  const retryable = answer.status === 0 || answer.status >= 500 || (problem && problem.code === "request_in_progress");
  if (!retryable) idempotencyKey = newIdempotencyKey();
  status("");
  if (problem && problem.code === "slot_unavailable") {
    picker.exclude(chosen.slot.startUtc);
    chosen = null;
    showAlert(MESSAGES.slot_unavailable);
    backToPicker({ reload: true });
    return;
  }
  if (problem && problem.code === "validation_error" && Array.isArray(problem.errors)) {
    for (const e of problem.errors) {
      if (e.field === "attendee.name") fieldError("name", e.message);
      if (e.field === "attendee.email") fieldError("email", e.message);
    }
  }
  showProblem(problem);
}

function confirmation(booking) {
  const zone = chosen.zone;
  $("done-when").textContent = rangeLabel(booking.startUtc, booking.endUtc, zone);
  $("done-what").textContent = link.title;
  $("done-email").textContent = $("email").value.trim();
  const join = $("done-join");
  if (booking.joinUrl) {
    const meeting = meetingName(booking.joinUrl);
    join.replaceChildren(el("a", { href: booking.joinUrl, target: "_blank", rel: "noopener" }, `Join the ${meeting} meeting`));
    join.hidden = false;
    $("done-join-label").textContent = meeting;
    $("done-join-label").hidden = false;
  }
  const warnings = (booking.warnings || []).map((w) => el("p", { class: "notice" }, w.message));
  $("done-warnings").replaceChildren(...warnings);
  const manage = $("done-manage");
  manage.href = booking.manageUrl;
  if (embedded) {
    manage.target = "_blank";
    manage.rel = "noopener";
  }
  showSection("done");
  status("Your booking is confirmed.");
  $("done-heading").focus();
}

async function start() {
  if (embedded) {
    document.body.classList.add("embed");
    reportHeightToParent();
  }
  $("form").addEventListener("submit", submit);
  $("change").addEventListener("click", () => backToPicker());
  if (!slug) {
    showProblem({ code: "not_found" });
    return;
  }
  status("Loading…");
  const answer = await api(`links/${encodeURIComponent(slug)}`);
  if (!answer.ok) {
    status("");
    showProblem(answer.problem, { not_found: "This booking page doesn't exist. Please check the link you were given." });
    return;
  }
  link = answer.data;
  document.title = `Book: ${link.title}`;
  $("title").textContent = link.title;
  const facts = [`${link.durationMinutes} minutes`];
  // Which service (Teams or Meet) depends on the host the booking is assigned to: named once booked.
  if (link.teamsMeeting) facts.push("Video meeting");
  $("summary").textContent = facts.join(" · ");
  picker = new SlotPicker($("picker-body"), slug, pick);
  showSection("picker");
  await picker.load({ first: true });
}

start();
