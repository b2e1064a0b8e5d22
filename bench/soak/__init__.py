"""Soak test with invariants: `python -m bench.soak --minutes 3` (see `bench.soak.soak`)."""
