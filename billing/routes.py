"""Billing pages: the tenant admin's invoice preview (/t/{tenant}/billing/) and the
operators' billing console (/ops/billing/): prices, Stripe mapping, shipping,
flagged rows, invoices, CSV and the reconciliation report."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import stripe
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template

from billing.catalogue import meters, options, prices, set_price
from billing.invoice import (
    GRACE_DAYS,
    Invoice,
    closes_at,
    invoice_csv,
    invoice_for,
    month_of,
    next_month,
    reconciliation,
)
from billing.rest import usage_api_router
from billing.shipping import delivery_counts, deliveries_needing_attention, mark_adjusted, send_again
from billing.stripe_gateway import (
    create_billing_meter,
    create_customer_and_subscription,
    event_name_for,
    stripe_client,
)
from billing.tables import PRICE_KINDS, StripeCustomer
from core import audit
from core.auth.guards import requires_admin, requires_operator
from core.db.tables import Tenant
from core.hours import TOKYO
from core.interviews.upload_quota import storage_use
from core.tenancy import TenantScope, tenant_guard
from core.web import i18n
from core.web.i18n import gettext as _
from core.web.rendering import page

TEMPLATES = Path(__file__).parent / "templates"
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Month = Annotated[str, Parameter(max_length=7, description="YYYY-MM")]


def _month(value: str) -> date:
    try:
        return month_of(value or None)
    except ValueError:
        return month_of(None)


def _previous(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def _csv(invoice: Invoice, slug: str) -> Response:
    # The byte-order mark lets spreadsheet programs read the Japanese names as UTF-8.
    return Response(
        content="\ufeff" + invoice_csv(invoice, i18n.current_language.get()),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}-{invoice.month:%Y-%m}.csv"'},
    )


async def _invoice_context(tenant: Tenant, month: date, request: Request) -> dict[str, Any]:
    return {
        "invoice": await invoice_for(tenant.id, month, request.app.state.plugin_host),
        "month": month, "previous": _previous(month), "following": next_month(month),
        "closes_at": closes_at(month).astimezone(TOKYO), "tokyo": TOKYO, "grace_days": GRACE_DAYS,
    }


# -- the tenant admin's page -------------------------------------------------


@get("/")
async def tenant_invoice(request: Request, tenant_row: NamedDependency[Tenant], month: Month = "") -> Template:
    context = await _invoice_context(tenant_row, _month(month), request)
    storage = await storage_use(TenantScope(tenant_row.id), request.app.state.settings)
    return await page(request, "billing/tenant_invoice.html", storage=storage, **context)


@get("/invoice.csv")
async def tenant_invoice_csv(request: Request, tenant_row: NamedDependency[Tenant], month: Month = "") -> Response:
    invoice = await invoice_for(tenant_row.id, _month(month), request.app.state.plugin_host)
    return _csv(invoice, tenant_row.slug)


def tenant_billing_router() -> Router:
    return Router(
        path="/t/{tenant:str}/billing",
        route_handlers=[tenant_invoice, tenant_invoice_csv],
        guards=[tenant_guard, requires_admin],
        tags=["billing"],
    )


# -- the operators' console ----------------------------------------------------


async def _tenant(slug: str) -> Tenant:
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is None:
        raise NotFoundException(_("No such tenant."))
    return tenant


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


async def _ops_home(request: Request, month: date, error: str | None = None) -> Template:
    host = request.app.state.plugin_host
    tenants = await Tenant.objects().order_by(Tenant.slug)
    totals = {t.id: (await invoice_for(t.id, month, host)).total_jpy for t in tenants}
    customers = {row.tenant: row for row in await StripeCustomer.objects()}
    return await page(
        request, "billing/ops_home.html", status_code=400 if error else 200, error=error, month=month,
        previous=_previous(month), following=next_month(month), tenants=tenants, totals=totals,
        customers=customers, counts=await delivery_counts(), meters=meters(host).values(),
        options=options(host).values(), meter_prices=await prices("meter"), option_prices=await prices("option"),
        attention=await deliveries_needing_attention(), tokyo=TOKYO, stripe_ready=stripe_client() is not None,
    )


@get("/")
async def ops_billing(request: Request, month: Month = "") -> Template:
    return await _ops_home(request, _month(month))


def _whole_yen(value: Any) -> int:
    text = str(value or "0").strip()
    if not text.isdigit():
        raise ValueError(_("Prices are whole yen."))
    return int(text)


@post("/prices")
async def save_price(request: Request, data: Form) -> Any:
    kind, key = str(data.get("kind", "")), str(data.get("key", ""))
    host = request.app.state.plugin_host
    known = meters(host) if kind == "meter" else options(host) if kind == "option" else {}
    if kind not in PRICE_KINDS or key not in known:
        return await _ops_home(request, _month(""), error=_("No such meter or option."))
    try:
        values: dict[str, Any] = {"unit_price_jpy": _whole_yen(data.get("unit_price_jpy"))}
    except ValueError as exc:
        return await _ops_home(request, _month(""), error=str(exc))
    if kind == "meter":
        values["stripe_event_name"] = str(data.get("stripe_event_name", "")).strip()
        values["stripe_price_id"] = str(data.get("stripe_price_id", "")).strip()
    await set_price(kind, key, **values)
    await audit.record("billing.price_set", actor=request.user, target=f"{kind}:{key}", detail=values,
                       ip=audit.client_ip(request))
    return _back("/ops/billing/")


@post("/prices/stripe")
async def create_stripe_meter(request: Request, data: Form) -> Any:
    """Create the meter's billing meter and metered price in Stripe and keep their ids."""
    key = str(data.get("key", ""))
    meter = meters(request.app.state.plugin_host).get(key)
    client = stripe_client()
    if meter is None or client is None:
        return await _ops_home(request, _month(""), error=_("Stripe is not configured, or no such meter."))
    price = (await prices("meter")).get(key)
    unit_price = price.unit_price_jpy if price else 0
    event_name = (price.stripe_event_name if price and price.stripe_event_name else "") or event_name_for(key)
    try:
        meter_id, price_id = await asyncio.to_thread(
            create_billing_meter, client, event_name=event_name, display_name=meter.meter.name_en,
            unit_price_jpy=unit_price, product_name=f"{meter.meter.name_ja} / {meter.meter.name_en}",
        )
    except stripe.StripeError as exc:
        return await _ops_home(request, _month(""), error=f'{_("Stripe refused the request:")} {exc.user_message or exc}')
    await set_price("meter", key, stripe_event_name=event_name, stripe_meter_id=meter_id, stripe_price_id=price_id)
    await audit.record("billing.stripe_meter_created", actor=request.user, target=key,
                       detail={"meter": meter_id, "price": price_id}, ip=audit.client_ip(request))
    return _back("/ops/billing/")


@post("/ship")
async def ship_now(request: Request) -> Any:
    await request.app.state.tasks.enqueue("billing.ship_usage", tenant_id=None)
    return _back("/ops/billing/")


@post("/close")
async def close_now(request: Request) -> Any:
    await request.app.state.tasks.enqueue("billing.close_periods", tenant_id=None)
    return _back("/ops/billing/")


@post("/deliveries/{delivery_id:int}/adjusted")
async def delivery_adjusted(request: Request, delivery_id: FromPath[int]) -> Any:
    if await mark_adjusted(delivery_id):
        await audit.record("billing.usage_adjusted", actor=request.user, target=str(delivery_id),
                           ip=audit.client_ip(request))
    return _back("/ops/billing/")


@post("/deliveries/{delivery_id:int}/retry")
async def delivery_retry(request: Request, delivery_id: FromPath[int]) -> Any:
    if await send_again(delivery_id):
        await audit.record("billing.usage_resent", actor=request.user, target=str(delivery_id),
                           ip=audit.client_ip(request))
    return _back("/ops/billing/")


@get("/reconciliation")
async def reconciliation_report(request: Request, month: Month = "") -> Template:
    chosen = _month(month)
    slugs = {str(t["id"]): t["slug"] for t in await Tenant.select(Tenant.id, Tenant.slug)}
    return await page(request, "billing/reconciliation.html", month=chosen, previous=_previous(chosen),
                      following=next_month(chosen), lines=await reconciliation(chosen), slugs=slugs)


async def _ops_tenant(request: Request, tenant: Tenant, month: date, error: str | None = None) -> Template:
    context = await _invoice_context(tenant, month, request)
    return await page(
        request, "billing/ops_tenant.html", status_code=400 if error else 200, error=error, subject=tenant,
        customer=await StripeCustomer.objects().where(StripeCustomer.tenant == tenant.id).first(),
        counts=(await delivery_counts()).get(str(tenant.id), {}), stripe_ready=stripe_client() is not None,
        **context,
    )


@get("/tenants/{slug:str}")
async def ops_tenant(request: Request, slug: FromPath[str], month: Month = "") -> Template:
    return await _ops_tenant(request, await _tenant(slug), _month(month))


async def _save_customer(tenant: Tenant, customer_id: str, subscription_id: str) -> None:
    row = await StripeCustomer.objects().where(StripeCustomer.tenant == tenant.id).first()
    if row is None:
        row = StripeCustomer(tenant=tenant.id)
    row.customer_id, row.subscription_id = customer_id, subscription_id
    await row.save()


@post("/tenants/{slug:str}/stripe")
async def save_stripe_mapping(request: Request, slug: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    customer_id = str(data.get("customer_id", "")).strip()
    subscription_id = str(data.get("subscription_id", "")).strip()
    if customer_id and not customer_id.startswith("cus_"):
        return await _ops_tenant(request, tenant, _month(""), error=_("A Stripe customer id starts with cus_."))
    await _save_customer(tenant, customer_id, subscription_id)
    await audit.record("billing.stripe_mapping_set", tenant_id=tenant.id, actor=request.user, target=slug,
                       detail={"customer": customer_id, "subscription": subscription_id}, ip=audit.client_ip(request))
    return _back(f"/ops/billing/tenants/{slug}")


@post("/tenants/{slug:str}/stripe/create")
async def create_stripe_customer(request: Request, slug: FromPath[str]) -> Any:
    """Create the tenant's Stripe customer and a subscription to every metered price."""
    tenant = await _tenant(slug)
    client = stripe_client()
    if client is None:
        return await _ops_tenant(request, tenant, _month(""), error=_("Stripe is not configured."))
    price_ids = [p.stripe_price_id for p in (await prices("meter")).values() if p.stripe_price_id]
    try:
        customer_id, subscription_id = await asyncio.to_thread(
            create_customer_and_subscription, client, name=tenant.name,
            metadata={"mendan_tenant": str(tenant.id), "mendan_slug": tenant.slug}, price_ids=price_ids,
        )
    except stripe.StripeError as exc:
        return await _ops_tenant(request, tenant, _month(""), error=f'{_("Stripe refused the request:")} {exc.user_message or exc}')
    await _save_customer(tenant, customer_id, subscription_id)
    await audit.record("billing.stripe_customer_created", tenant_id=tenant.id, actor=request.user, target=slug,
                       detail={"customer": customer_id, "subscription": subscription_id}, ip=audit.client_ip(request))
    return _back(f"/ops/billing/tenants/{slug}")


@get("/tenants/{slug:str}/invoice.csv")
async def ops_invoice_csv(request: Request, slug: FromPath[str], month: Month = "") -> Response:
    tenant = await _tenant(slug)
    return _csv(await invoice_for(tenant.id, _month(month), request.app.state.plugin_host), slug)


def ops_billing_router() -> Router:
    return Router(
        path="/ops/billing",
        route_handlers=[
            ops_billing, save_price, create_stripe_meter, ship_now, close_now, delivery_adjusted, delivery_retry,
            reconciliation_report, ops_tenant, save_stripe_mapping, create_stripe_customer, ops_invoice_csv,
        ],
        guards=[requires_operator],
        include_in_schema=False,
    )


def billing_routers() -> list[Router]:
    return [tenant_billing_router(), ops_billing_router(), usage_api_router()]
