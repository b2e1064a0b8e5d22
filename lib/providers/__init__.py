"""Calendar providers: what is specific to one calendar service (today Microsoft 365 / Outlook)."""
