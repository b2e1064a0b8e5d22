"""Microsoft identity platform: the MSAL confidential client, the encrypted token vault, and its
sign-in and token errors as problem codes."""
