"""Availability, the use case: a link's free slots from its rules (`lib.engine`), each host's busy
time (the busy cache, or live from the provider) and each host's bookings."""
