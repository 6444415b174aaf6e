"""Billing's only door to Stripe, through the stripe-python SDK.

Configured by environment: `STRIPE_API_KEY` (without it nothing is shipped and rows
wait), and `STRIPE_API_BASE` to point the SDK elsewhere (the tests' local fake).
The SDK retries network errors and 5xx answers with exponential backoff, reusing
one idempotency key per request; what still fails is `StripeUnavailable`, which the
shipping actor lets Dramatiq retry later.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

NETWORK_RETRIES = 2
# The SDK logs every request at INFO; shipping logs its own summary per run instead.
logging.getLogger("stripe").setLevel(logging.WARNING)
EVENT_NAME_RE = re.compile(r"[^a-z0-9_]")


class StripeUnavailable(RuntimeError):
    """Stripe could not be reached or answered 5xx even after the SDK's retries."""


@dataclass(frozen=True)
class MeterEventAnswer:
    outcome: str  # sent | duplicate | flagged | rejected (see billing.tables.OUTCOMES)
    detail: str = ""


def stripe_client() -> stripe.StripeClient | None:
    """The configured client, or None when no API key is set (usage then waits unsent)."""
    api_key = os.environ.get("STRIPE_API_KEY")
    if not api_key:
        return None
    base = os.environ.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        api_key, base_addresses={"api": base} if base else None, max_network_retries=NETWORK_RETRIES
    )


def event_name_for(meter_key: str) -> str:
    """A default billing meter event name for a meter key (Stripe allows 100 characters)."""
    return ("mendan_" + EVENT_NAME_RE.sub("_", meter_key.lower()))[:100]


def _is_duplicate_identifier(exc: stripe.InvalidRequestError) -> bool:
    message = (exc.user_message or str(exc)).lower()
    return exc.code == "resource_already_exists" or (exc.param == "identifier" and "already exists" in message)


def send_meter_event(
    client: stripe.StripeClient, *, event_name: str, customer_id: str, value: int, identifier: str,
    timestamp: datetime,
) -> MeterEventAnswer:
    """Send one usage row as a billing meter event whose identifier is the usage key.

    An identifier Stripe already has means an earlier attempt got through (perhaps we
    stopped before writing that down): the row is delivered, not doubled.
    """
    try:
        client.v1.billing.meter_events.create(params={
            "event_name": event_name,
            "identifier": identifier,
            "timestamp": int(timestamp.timestamp()),
            "payload": {"stripe_customer_id": customer_id, "value": str(value)},
        })
    except stripe.InvalidRequestError as exc:
        detail = exc.user_message or str(exc)
        if _is_duplicate_identifier(exc):
            return MeterEventAnswer("duplicate", detail)
        if exc.param == "timestamp":
            return MeterEventAnswer("flagged", detail)
        return MeterEventAnswer("rejected", detail)
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, stripe.AuthenticationError) as exc:
        raise StripeUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}") from exc
    return MeterEventAnswer("sent")


def create_billing_meter(
    client: stripe.StripeClient, *, event_name: str, display_name: str, unit_price_jpy: int, product_name: str
) -> tuple[str, str]:
    """A billing meter summing `value` per customer, and a monthly metered yen price on it.

    Returns (meter id, price id).
    """
    meter = client.v1.billing.meters.create(params={
        "display_name": display_name,
        "event_name": event_name,
        "default_aggregation": {"formula": "sum"},
        "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
        "value_settings": {"event_payload_key": "value"},
    })
    price = client.v1.prices.create(params={
        "currency": "jpy",
        "unit_amount": unit_price_jpy,
        "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        "product_data": {"name": product_name},
    })
    return meter.id, price.id


def create_customer_and_subscription(
    client: stripe.StripeClient, *, name: str, metadata: dict[str, str], price_ids: list[str]
) -> tuple[str, str]:
    """A customer invoiced monthly (bank transfer, as Japanese businesses pay) subscribed to
    every metered price. Returns (customer id, subscription id)."""
    customer = client.v1.customers.create(params={"name": name, "metadata": metadata})
    params: dict[str, Any] = {
        "customer": customer.id,
        "collection_method": "send_invoice",
        "days_until_due": 30,
        "items": [{"price": price_id} for price_id in price_ids],
        "metadata": metadata,
    }
    subscription = client.v1.subscriptions.create(params=params)
    return customer.id, subscription.id
