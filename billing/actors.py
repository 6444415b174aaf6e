"""Billing's background tasks, declared like the core's: `billing.{task}`."""

from billing.invoice import close_periods
from billing.shipping import ship_usage

BILLING_ACTORS = {"billing.ship_usage": ship_usage, "billing.close_periods": close_periods}
