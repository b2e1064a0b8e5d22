"""Housekeeping: the timers' sweeps across features (reconciliation, expired flows and claims,
past slot locks, pending bookings)."""
