"""Signing secrets and signatures per the Standard Webhooks scheme (`standardwebhooks`).

A secret is `whsec_` and 32 random bytes in base64; it is shown to the admin once and kept
sealed under the tenant's data key. A signature is HMAC-SHA256 over `{id}.{timestamp}.{body}`,
sent as `webhook-signature: v1,<base64>` with `webhook-id` and `webhook-timestamp`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

from core.storage import TenantKey, open_value, seal_value


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _context(endpoint_id: Any) -> str:
    return f"webhooks.{endpoint_id}.secret"


def seal_secret(tk: TenantKey, endpoint_id: Any, secret: str) -> str:
    """The secret sealed for one endpoint of the tenant (it opens for that endpoint only)."""
    return seal_value(tk, secret, _context(endpoint_id))


def open_secret(tk: TenantKey, endpoint_id: Any, sealed: str) -> str:
    return open_value(tk, sealed, _context(endpoint_id))


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt sent at `at` (an aware datetime)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
    }
