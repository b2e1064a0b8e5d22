"""Bookings: a booked slot of a link, written to the host's Outlook calendar as an event.

Modules, one job each:
- records: the stored rows (bookings, slot locks, idempotency claims, round-robin state, the
  event -> booking index, the audit log);
- validation: the public request bodies, parsed and bounded;
- locks: the slot locks (5-minute cells per host, insert-only, all of a slot in one transaction);
- idempotency: `Idempotency-Key` claims and stored results;
- host_choice: which host of a link gets the booking (round-robin: least recently booked);
- (the event itself - created, found by its tag, read back, moved, deleted - is the account's
  provider's: `lib.providers.base.EventWriter`);
- manage_tokens: the attendee's manage token (only its SHA-256 is stored);
- audit: what was done to which event, and how it went;
- host_bookings: a host's booked time and bookings per local day (availability, daily cap);
- store: the bookings table, and a booking found by a client's id;
- views: what a booking's answer shows (`BookingView`, also what an idempotency claim stores);
- checks: the slot is offered, the daily cap, the live re-check of the host's calendars;
- host_calendar: the write target, its provider's event writer, the event's content, the event
  write (the provider's failures as booking problems; unknown outcomes);
- lease: the booking's short lease (operations on one booking never interleave);
- outcome: a booking in flight confirmed or failed, its slot held again;
- create: create, and resume a pending booking for a retry with the same Idempotency-Key;
- manage: get / reschedule / cancel by the attendee (manage token), the host or the product, no-show,
  the product's list;
- host_index: the host's bookings by start (the list), and its sealed paging cursor;
- events: the booking events the product hears of (through the outbox);
- release: housekeeping's part: stale pending bookings resolved, late events deleted;
- outlook_sync: the listener that notices booking events moved or deleted in Outlook.
"""
