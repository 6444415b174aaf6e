"""Billing's tables: the usage ledger and its deliveries to Stripe, prices, Stripe customers,
closed periods.

`UsageRow` is append-only: a row states an act that happened and is never changed or
deleted by billing. What became of it at Stripe is a separate `UsageDelivery` row, so
the ledger stays the record of usage and the deliveries the record of shipping.
"""

from __future__ import annotations

from piccolo.columns import JSON, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.db.tables import Tenant

# Outcomes of shipping one usage row. `sent` and `duplicate` (Stripe already had the
# identifier) are delivered; `flagged` rows were too old for Stripe's window and wait for an
# operator's manual adjustment (`adjusted`); `rejected` rows were refused for another reason.
DELIVERED = ("sent", "duplicate")
OUTCOMES = ("sent", "duplicate", "flagged", "adjusted", "rejected")
PRICE_KINDS = ("meter", "option")


class UsageRow(Table, tablename="billing_usage"):
    tenant = ForeignKey(references=Tenant, index=True)
    meter = Varchar(length=100, index=True)
    quantity = Integer()
    occurred_at = Timestamptz(index=True)
    # Derived from tenant + meter + act, so the same act recorded twice is one row.
    usage_key = Varchar(length=64, unique=True)
    source_ref = Varchar(length=200, default="")
    recorded_at = Timestamptz(default=TimestamptzNow())


class UsageDelivery(Table, tablename="billing_delivery"):
    usage = ForeignKey(references=UsageRow, unique=True)
    tenant = ForeignKey(references=Tenant, index=True)
    outcome = Varchar(length=16, index=True)
    event_name = Varchar(length=100, default="")
    detail = Text(default="")
    at = Timestamptz(default=TimestamptzNow())


class Price(Table, tablename="billing_price"):
    """What operators charge: yen per unit of a meter, or yen per month of an option.

    A meter's Stripe side is its billing meter's `event_name` and the metered price that
    the tenants' subscriptions carry.
    """

    kind = Varchar(length=8)  # meter | option
    key = Varchar(length=100)
    unit_price_jpy = Integer(default=0)
    stripe_event_name = Varchar(length=100, default="")
    stripe_meter_id = Varchar(length=100, default="")
    stripe_price_id = Varchar(length=100, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class StripeCustomer(Table, tablename="billing_stripe_customer"):
    tenant = ForeignKey(references=Tenant, unique=True, index=True)
    customer_id = Varchar(length=100, default="")
    subscription_id = Varchar(length=100, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class ClosedPeriod(Table, tablename="billing_closed_period"):
    """A month whose invoice is final: the lines as they stood when the grace window ended."""

    tenant = ForeignKey(references=Tenant, index=True)
    month = Date()  # the first day of the month (Asia/Tokyo)
    lines = JSON(default=[])
    total_jpy = Integer(default=0)
    closed_at = Timestamptz(default=TimestamptzNow())
