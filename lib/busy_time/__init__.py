"""Busy time of hosts, behind `lib.availability.busy_source.BusySource`: adapters that read it
(live from Graph in `live_source`; from the busy cache in `cached_source`) and the pure conversion
of Graph events to busy intervals (`graph_events`)."""
