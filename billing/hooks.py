"""The billing domain's answers to the host's hooks, registered by the assembly (`mendan.assembly`)."""

from __future__ import annotations

from typing import Any

from core.hookspecs import hookimpl
from core.plugins import NavItem

BILLING_NAV = NavItem(path="billing/", label_ja="ご利用料金", label_en="Billing", order=880)


@hookimpl
def mendan_nav_items(user: Any):
    return [BILLING_NAV] if user is not None and user.role == "admin" else []


@hookimpl
def mendan_job_names():
    return {"billing.ship_usage": ("利用量のStripe送信", "Sending usage to Stripe"),
            "billing.close_periods": ("請求期間の締め", "Closing billing periods")}


@hookimpl
def mendan_piccolo_apps():
    return ["billing.piccolo_app"]
