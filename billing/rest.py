"""REST API v1: the tenant's usage in the current billing period (`/api/v1/t/{tenant}/usage`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Request, Router, get
from litestar.di import NamedDependency

from billing.invoice import invoice_for, month_bounds, month_of
from core.auth.guards import requires_admin
from core.db.tables import Tenant
from core.rest.auth import requires_scope
from core.rest.problems import problem_responses
from core.rest.routers import tenant_api_router
from core.web.i18n import current_language


class UsageLine(msgspec.Struct):
    """One meter (units used) or option (days charged) of the period so far."""

    kind: Annotated[str, msgspec.Meta(examples=["meter"], description="meter or option")]
    key: Annotated[str, msgspec.Meta(examples=["face_features.analysis_minutes"])]
    name: Annotated[str, msgspec.Meta(description="in the request's language")]
    quantity: Annotated[int, msgspec.Meta(description="units of a meter, charged days of an option")]
    unit_price_jpy: int
    amount_jpy: int


class Usage(msgspec.Struct):
    """The current month (Asia/Tokyo) as the invoice preview shows it now."""

    period_start: datetime
    period_end: datetime
    lines: list[UsageLine]
    total_jpy: int


@get("/usage", summary="Usage in the current period", operation_id="getUsage",
     description="Meters and options of the current month so far, priced as on the invoice preview. "
                 "Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403))
async def current_usage(request: Request, tenant_row: NamedDependency[Tenant]) -> Usage:
    month = month_of(None)
    start, end = month_bounds(month)
    invoice = await invoice_for(tenant_row.id, month, request.app.state.plugin_host)
    language = current_language.get()
    return Usage(period_start=start, period_end=end, total_jpy=invoice.total_jpy, lines=[
        UsageLine(kind=line.kind, key=line.key, name=line.name(language), quantity=line.quantity,
                  unit_price_jpy=line.unit_price_jpy, amount_jpy=line.amount_jpy) for line in invoice.lines])


def usage_api_router() -> Router:
    return tenant_api_router([current_usage], tags=["usage"])
