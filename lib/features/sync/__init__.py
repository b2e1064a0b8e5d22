"""Change notifications and sync: subscriptions per conflict calendar, the webhook intake, the
queue processor that re-reads the calendar through the connection's change feed (for Microsoft:
calendarView delta) into the busy cache, lifecycle events, renewal and reconciliation timers.

Modules, one job each (import them directly; this package imports nothing so the intake stays light):
- client_state: the HMAC clientState of a subscription and its constant-time verification;
- messages: the typed queue messages (notifications, lifecycle events, sync requests);
- intake: validation handshake and notification intake (verify, enqueue; no Graph, no tokens);
- feed: the connection's change feed, from its provider (`lib.providers.change_feed`);
- subscriptions: subscription records, and creating one through the feed;
- sync_state: per-calendar sync state: delta link, window, pending/synced counters, the lease;
- busy_cache: busy-interval records, busy item -> row, and reading/writing them;
- delta_sync: one sync round of a calendar (changes since the cursor, full resync, or re-read);
- calendar_worker: runs the work a calendar needs (subscribe, sync) under its lease, coalescing;
- changes: the "events that changed" hook (two-way booking sync plugs in here);
- processor: queue-trigger entry points for notifications and lifecycle events;
- sync_requests: the `sync-requests` queue (connect, settings change, sync now, reconcile);
- renewal, reconcile: the timers;
- connection_events: the calls lib.features.connections makes on connect, settings change and disconnect.
"""
