"""Google Calendar: events as busy time, the booking's event in Google Calendar, accounts signed
in with OAuth 2.0 (code + PKCE) and their calendars, watch channels and syncToken as the change
feed (`provider.GoogleProvider`). Importing the package loads nothing else."""

NAME = "google"
