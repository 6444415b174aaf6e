"""Billing pages: the tenant admin's invoice (admins only, Japanese and English, CSV) and the
operators' console (prices, Stripe set-up through the SDK, flagged rows, reconciliation)."""

import csv
import io
from datetime import datetime, timedelta, timezone

from billing.catalogue import prices, set_price
from billing.ledger import record_usage, usage_key
from billing.shipping import ship_pending
from billing.tables import StripeCustomer, UsageDelivery
from core.db.tables import AuditEntry
from tests.billing_fixtures import INTERVIEWS, MINUTES, register_billing_plugins, stripe_fake  # noqa: F401
from tests.conftest import HTML, form_csrf, login


async def _post(client, page_path, path, data=None):
    page = await client.get(page_path, headers=HTML)
    return await client.post(path, data={**(data or {}), "_csrf_token": form_csrf(page.text)}, headers=HTML,
                             follow_redirects=False)


async def test_tenant_admin_sees_the_invoice_preview_in_japanese_and_english(host, client, make_tenant, make_user):
    register_billing_plugins(host)
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await set_price("meter", INTERVIEWS, unit_price_jpy=4_000)
    at = datetime.now(timezone.utc) - timedelta(minutes=1)
    await record_usage(tenant, INTERVIEWS, 3, act="interview:page", occurred_at=at)
    month = at.astimezone(timezone(timedelta(hours=9))).strftime("%Y-%m")
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/billing/?month={month}", headers=HTML)
    assert page.status_code == 200
    assert "面談実施" in page.text and "12,000" in page.text and "請求" in page.text
    await client.get("/lang/en?next=/", headers=HTML)
    english = await client.get(f"/t/{tenant.slug}/billing/?month={month}", headers=HTML)
    assert "Interviews held" in english.text and "Billing" in english.text
    exported = await client.get(f"/t/{tenant.slug}/billing/invoice.csv?month={month}")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[1][2:7] == [INTERVIEWS, "Interviews held", "3", "4000", "12000"]


async def test_billing_page_is_for_the_tenants_admins_only(host, client, make_tenant, make_user):
    register_billing_plugins(host)
    tenant, other = await make_tenant(), await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    await login(client, tenant, interviewer)
    assert (await client.get(f"/t/{tenant.slug}/billing/", headers=HTML)).status_code == 403
    assert (await client.get(f"/t/{tenant.slug}/billing/invoice.csv")).status_code == 403
    assert (await client.get(f"/t/{other.slug}/billing/", headers=HTML)).status_code == 404
    assert (await client.get("/ops/billing/", headers=HTML)).status_code == 403


async def test_operator_sets_prices_connects_stripe_and_resolves_flagged_rows(host, client, make_tenant, make_user,
                                                                             stripe_fake):
    register_billing_plugins(host)
    tenant = await make_tenant()
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    assert 'href="/ops/billing/"' in (await client.get("/ops/", headers=HTML)).text
    home = "/ops/billing/"
    page = await client.get(home, headers=HTML)
    assert page.status_code == 200 and "録画（分）" in page.text

    saved = await _post(client, home, "/ops/billing/prices",
                        {"kind": "meter", "key": MINUTES, "unit_price_jpy": "15"})
    assert saved.status_code == 303
    refused = await _post(client, home, "/ops/billing/prices", {"kind": "meter", "key": MINUTES, "unit_price_jpy": "1.5"})
    assert refused.status_code == 400
    created = await _post(client, home, "/ops/billing/prices/stripe", {"key": MINUTES})
    assert created.status_code == 303, created.text
    price = (await prices("meter"))[MINUTES]
    assert price.unit_price_jpy == 15 and price.stripe_meter_id in stripe_fake.meters
    assert stripe_fake.prices[price.stripe_price_id]["recurring"]["meter"] == price.stripe_meter_id
    assert stripe_fake.prices[price.stripe_price_id]["unit_amount"] == 15

    tenant_page = f"/ops/billing/tenants/{tenant.slug}"
    connected = await _post(client, tenant_page, f"{tenant_page}/stripe/create")
    assert connected.status_code == 303, connected.text
    customer = await StripeCustomer.objects().where(StripeCustomer.tenant == tenant.id).first()
    assert customer.customer_id in stripe_fake.customers
    items = stripe_fake.subscriptions[customer.subscription_id]["items"]["data"]
    assert price.stripe_price_id in [item["price"]["id"] for item in items]

    await record_usage(tenant, MINUTES, 7, act="job:old", occurred_at=datetime.now(timezone.utc) - timedelta(days=36))
    await record_usage(tenant, MINUTES, 5, act="job:fresh")
    await ship_pending()
    assert usage_key(tenant.id, MINUTES, "job:fresh") in stripe_fake.events
    page = await client.get(home, headers=HTML)
    old_key = usage_key(tenant.id, MINUTES, "job:old")
    assert old_key in page.text  # shown to operators, not dropped
    assert "Stripe の受付期間（35日）より前の利用分" in page.text  # why, in the operator's language
    flagged = await UsageDelivery.objects().where(
        (UsageDelivery.tenant == tenant.id) & (UsageDelivery.outcome == "flagged")).first()
    adjusted = await _post(client, home, f"/ops/billing/deliveries/{flagged.id}/adjusted")
    assert adjusted.status_code == 303
    assert (await UsageDelivery.objects().where(UsageDelivery.id == flagged.id).first()).outcome == "adjusted"

    report = await client.get("/ops/billing/reconciliation", headers=HTML)
    assert report.status_code == 200 and tenant.slug in report.text
    detail = await client.get(tenant_page, headers=HTML)
    assert customer.customer_id in detail.text
    exported = await client.get(f"{tenant_page}/invoice.csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r[4:7] for r in rows if r[2] == MINUTES] == [["5", "15", "75"]]  # this month: the fresh row
    actions = {e["action"] for e in await AuditEntry.select(AuditEntry.action).where(AuditEntry.actor == operator.id)}
    assert {"billing.price_set", "billing.stripe_meter_created", "billing.stripe_customer_created",
            "billing.usage_adjusted"} <= actions
