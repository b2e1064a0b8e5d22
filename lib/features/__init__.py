"""Features, each owning its records: outbox < connections < sync < links < bookings < availability
< housekeeping < health (a feature imports only features to its left; news the other way travels
through hooks installed by `functions/wiring.py`)."""
