"""The outbox: events for the booking product, stored first, then delivered to its webhook the
Standard Webhooks way (signed, retried with growing delays, kept as failed when every retry
failed), never twice for the same change."""
