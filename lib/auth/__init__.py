"""Who may call the management routes: the product backend (API key) or a user (short-lived token)."""
