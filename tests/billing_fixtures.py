"""Fixture plugins with meters and an option, and the fake Stripe wired to the SDK."""

from __future__ import annotations

import pytest

from billing.catalogue import set_price
from billing.stripe_gateway import create_billing_meter, create_customer_and_subscription, stripe_client
from billing.tables import Price, StripeCustomer
from core.hookspecs import hookimpl
from core.plugins import Meter, PluginMeta
from tests.stripe_fake import FakeStripe

INTERVIEWS = "bill_x.interviews"
MINUTES = "bill_x.minutes"


class MeteredService:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(
            key="bill_x", name_ja="面談サービス", name_en="Interview service", version="1", kind="basic",
            hours="batch", meters=(Meter(INTERVIEWS, "interview", "面談実施", "Interviews held"),
                                   Meter(MINUTES, "minute", "録画（分）", "Recording minutes")),
        )


class VideoOption:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="bill_opt", name_ja="動画解析", name_en="Video analysis", version="1",
                          kind="option", hours="batch")


def register_billing_plugins(host) -> None:
    host.register(MeteredService(), key="bill_x")
    host.register(VideoOption(), key="bill_opt")


@pytest.fixture
async def stripe_fake(monkeypatch):
    """A fresh fake is a fresh Stripe account: ids kept from earlier tests' fakes mean nothing there."""
    await Price.update({Price.stripe_event_name: "", Price.stripe_meter_id: "", Price.stripe_price_id: ""}, force=True)
    await StripeCustomer.delete(force=True)
    fake = FakeStripe().start()
    monkeypatch.setenv("STRIPE_API_KEY", fake.api_key)
    monkeypatch.setenv("STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


async def connect_to_stripe(tenant, *meter_keys: str) -> str:
    """Create the meters' billing meters and prices and the tenant's customer in the fake,
    through the SDK, as the operator's buttons do; returns the customer id."""
    client = stripe_client()
    price_ids = []
    for key in meter_keys:
        event_name = f"{key.replace('.', '_')}_{tenant.slug.replace('-', '_')}"
        meter_id, price_id = create_billing_meter(client, event_name=event_name, display_name=key,
                                                  unit_price_jpy=100, product_name=key)
        await set_price("meter", key, unit_price_jpy=100, stripe_event_name=event_name,
                        stripe_meter_id=meter_id, stripe_price_id=price_id)
        price_ids.append(price_id)
    customer_id, subscription_id = create_customer_and_subscription(
        client, name=tenant.name, metadata={"mendan_slug": tenant.slug}, price_ids=price_ids)
    await StripeCustomer.insert(StripeCustomer(tenant=tenant.id, customer_id=customer_id,
                                               subscription_id=subscription_id))
    return customer_id
