"""Microsoft identity: the MSAL confidential client and the encrypted token vault."""
