"""Authentication and authorisation: passwords, sessions, API tokens, guards, sign-in pages."""
