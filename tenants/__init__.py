"""Tenants and contracts: operator console, options per contract, service hours,
maintenance, emergency stops, consent texts, retention and deletion."""
