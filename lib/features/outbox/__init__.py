"""The outbox: "action required" messages to the booking product, stored first, then delivered to
its webhook (HMAC-signed, retried by the queue), never twice for the same event."""
