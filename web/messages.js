// What a person reads for each problem `code` the API answers with (openapi.yaml, Problem.code).
// tests/e2e/test_pages_static.py checks that every documented code has a message here.

export const MESSAGES = {
  validation_error: "Some details are missing or not valid. Please check them and try again.",
  not_found: "We couldn't find this. The link may be mistyped, or it no longer exists.",
  slot_unavailable:
    "Sorry, that time was just taken or is no longer available. Please pick another time.",
  start_in_past: "That time has already passed. Please pick a time in the future.",
  calendar_not_writable:
    "Bookings can't be added to that calendar: it is read-only for this account. Pick a calendar you can edit.",
  needs_reconnect:
    "This calendar account needs to be connected again. Press Reconnect and sign in once more.",
  admin_approval_required:
    "Your organisation's administrator must approve this app before you can connect. Send them the approval link below.",
  consent_declined:
    "The sign-in was cancelled, so nothing was connected. Press Connect to try again.",
  insufficient_permissions:
    "Not every permission was granted. The app needs to see your calendars and read and write their events: connect again and accept (or leave ticked) every permission.",
  conditional_access_blocked:
    "Your organisation's sign-in policy (conditional access) blocked this connection, for example because this device isn't managed or compliant. Please ask your IT administrator.",
  consent_required:
    "The app no longer has your permission to use your calendar (it was never given or has been removed). Press Connect Outlook and accept the permissions; if your organisation doesn't allow that, send your administrator the approval link below.",
  user_not_assigned:
    "Your organisation only lets people it has assigned use this app, and your account isn't assigned yet. Ask your IT administrator to give you access, then connect again.",
  account_not_allowed:
    "This Microsoft account can't be used here: it isn't part of an organisation that allows it (for example a personal or guest account). Press Connect Outlook and pick your work account.",
  interaction_required:
    "Microsoft needs one more sign-in step from you, such as multi-factor authentication. Press Connect Outlook and finish every step.",
  sign_in_failed:
    "The sign-in didn't work. Press Connect to try again; if it keeps failing, ask your IT administrator.",
  account_already_linked:
    "This calendar account is already connected to another user. Share its calendar with your own account instead.",
  account_limit_reached:
    "You have connected as many calendar accounts as allowed. Disconnect one before adding another.",
  outlook_unavailable: "Outlook isn't answering right now. Please try again in a few minutes.",
  google_unavailable: "Google Calendar isn't answering right now. Please try again in a few minutes.",
  rate_limited: "There have been too many requests in a short time. Please wait a moment and try again.",
  unauthorized: "Your session has expired or is not valid. Please open this page again from where you started.",
  conflict: "Something changed at the same moment. Please try again.",
  service_unavailable: "The service is briefly unavailable. Please try again shortly.",
  invalid_cursor: "This list has changed or its page link is no longer valid. Please load the list again from the start.",
  meeting_not_started: "The meeting hasn't started yet, so its attendee can't be marked as a no-show.",
  internal_error: "Something went wrong on our side. Please try again; if it keeps happening, contact support.",
  idempotency_key_reused:
    "This booking request was already used with different details. Please reload the page and try again.",
  request_in_progress: "Your booking is still being processed. Please wait a moment.",
  write_calendar_missing:
    "This time can't be booked right now: the host's calendar for bookings no longer exists. Please let the host know.",
  link_inactive:
    "This booking page is paused: the host isn't taking bookings through it right now. Please try again later or contact the host.",
  link_deleted: "This booking page has been removed. Please ask the host for a new link.",
  slug_deleted:
    "This address belonged to a booking link that was deleted. Choose another address, or confirm that you want to reuse it.",
};

export const NETWORK_ERROR = "We can't reach the server. Check your connection and try again.";

/** The sentence to show for a problem document (or a network failure), with page-specific overrides. */
export function problemMessage(problem, overrides = {}) {
  if (!problem) return NETWORK_ERROR;
  const code = problem.code;
  return overrides[code] || MESSAGES[code] || problem.detail || MESSAGES.internal_error;
}
