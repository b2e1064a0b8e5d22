"""Booking links: their configuration (records, validation), management, and the availability
they offer (`availability`, which asks a `BusySource` for the hosts' busy time)."""
