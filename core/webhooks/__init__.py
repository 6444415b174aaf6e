"""The webhooks domain: signed HTTP notifications of a tenant's events to its HR systems.

A tenant admin registers endpoints (`endpoints.py`, pages in `routes.py`); the domain hears the
host's event hooks (`hooks.py`), stores one delivery per event and subscribed endpoint, and
sends it through the job queue (`delivery.py`), signed per the Standard Webhooks scheme.
Addresses are checked against SSRF at registration and again at every attempt (`addresses.py`).
"""
