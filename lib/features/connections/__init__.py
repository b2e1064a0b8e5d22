"""Connections: a user's linked Microsoft accounts, their calendars and calendar settings."""
