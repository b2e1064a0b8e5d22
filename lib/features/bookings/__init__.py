"""Bookings: a booked slot of a link, written to the host's Outlook calendar as an event.

Modules, one job each:
- records: the stored rows (bookings, slot locks, idempotency claims, round-robin state, the
  event -> booking index, the audit log);
- validation: the public request bodies, parsed and bounded;
- locks: the slot locks (5-minute cells per host, insert-only, all of a slot in one transaction);
- idempotency: `Idempotency-Key` claims and stored results;
- host_choice: which host of a link gets the booking (round-robin: least recently booked);
- outlook_event: the event JSON, the tag that marks it as ours, and find-by-tag;
- manage_tokens: the attendee's manage token (only its SHA-256 is stored);
- audit: what was done to which event, and how it went;
- host_bookings: a host's booked time and bookings per local day (availability, daily cap);
- service: create / reschedule / cancel, orchestrated;
- outlook_sync: the listener that notices booking events moved or deleted in Outlook.
"""
