"""Adapters to the outside: Table Storage and queues, the Microsoft Graph client, MSAL and the
token vault, Key Vault, outbound HTTP sessions. They know wire protocols, not features."""
