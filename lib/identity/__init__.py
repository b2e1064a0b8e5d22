"""Microsoft identity: the MSAL confidential client, sign-in error mapping and the token vault."""
