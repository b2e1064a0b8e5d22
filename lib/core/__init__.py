"""The ground floor: settings, typed errors, crypto, time zones, input rules, telemetry hooks and
small concurrency/memo helpers. Imports nothing else of `lib`."""
