"""Microsoft 365 / Outlook: sign-in error mapping, Graph events as busy time, live busy reads, and
the booking event written to Outlook."""
