"""Invoice preview: ledger sums times prices, option fees pro-rated by day (Japan time),
periods that close after the grace window, and the CSV export."""

import csv
import io
from datetime import date, datetime, timedelta, timezone

from billing.catalogue import set_price
from billing.invoice import (
    charged_days,
    close_due_periods,
    compute_invoice,
    invoice_csv,
    invoice_for,
    month_bounds,
    reconciliation,
)
from billing.ledger import record_usage
from core.hours import TOKYO
from tenants.options import set_option
from tests.billing_fixtures import INTERVIEWS, MINUTES, register_billing_plugins

NOVEMBER = date(2026, 11, 1)
MARCH = date(2025, 3, 1)


def jst(*args):
    return datetime(*args, tzinfo=TOKYO)


async def test_option_fee_is_prorated_by_day_across_a_mid_month_toggle(host, app, make_tenant, make_user):
    register_billing_plugins(host)
    tenant, operator = await make_tenant(), await make_user(None, "operator")
    await set_price("option", "bill_opt", unit_price_jpy=30_000)
    await set_option(tenant.id, "bill_opt", True, by=operator, at=jst(2026, 11, 10, 12))
    await set_option(tenant.id, "bill_opt", False, by=operator, at=jst(2026, 11, 20, 12))
    invoice = await compute_invoice(tenant.id, NOVEMBER, host)
    [line] = invoice.lines
    assert (line.kind, line.key, line.quantity, line.days_in_month) == ("option", "bill_opt", 11, 30)
    assert line.amount_jpy == 30_000 * 11 // 30 == 11_000

    # Switched on again late on the last evening: that day counts too; December starts on.
    await set_option(tenant.id, "bill_opt", True, by=operator, at=jst(2026, 11, 30, 23, 30))
    [line] = (await compute_invoice(tenant.id, NOVEMBER, host)).lines
    assert (line.quantity, line.amount_jpy) == (12, 12_000)
    [december] = (await compute_invoice(tenant.id, date(2026, 12, 1), host)).lines
    assert (december.quantity, december.days_in_month, december.amount_jpy) == (31, 31, 30_000)


async def test_toggling_twice_in_one_day_charges_that_day_once():
    day = [(jst(2026, 11, 3, 9), jst(2026, 11, 3, 10)), (jst(2026, 11, 3, 15), jst(2026, 11, 4, 0))]
    assert charged_days(day) == 1
    assert charged_days([]) == 0


async def test_invoice_sums_the_ledger_by_japanese_month_times_prices(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    await set_price("meter", INTERVIEWS, unit_price_jpy=5_000)
    await set_price("meter", MINUTES, unit_price_jpy=20)
    await record_usage(tenant, INTERVIEWS, 1, act="i:1", occurred_at=jst(2025, 3, 1, 0, 0))
    await record_usage(tenant, INTERVIEWS, 1, act="i:2", occurred_at=jst(2025, 3, 15, 10))
    await record_usage(tenant, MINUTES, 45, act="i:2", occurred_at=jst(2025, 3, 15, 10))
    # 15:30 UTC on 31 March is already 1 April in Japan.
    await record_usage(tenant, INTERVIEWS, 1, act="i:3", occurred_at=datetime(2025, 3, 31, 15, 30, tzinfo=timezone.utc))
    invoice = await compute_invoice(tenant.id, MARCH, host)
    assert [(l.key, l.quantity, l.unit_price_jpy, l.amount_jpy) for l in invoice.lines] == [
        (INTERVIEWS, 2, 5_000, 10_000), (MINUTES, 45, 20, 900)]
    assert invoice.total_jpy == 10_900
    assert [l.quantity for l in (await compute_invoice(tenant.id, date(2025, 4, 1), host)).lines] == [1]

    rows = list(csv.reader(io.StringIO(invoice_csv(invoice, "ja"))))
    assert rows[0][:3] == ["month", "kind", "key"]
    assert rows[1] == ["2025-03", "meter", INTERVIEWS, "面談実施", "2", "5000", "10000", ""]
    assert rows[-1][0:2] == ["2025-03", "total"] and rows[-1][6] == "10900"


async def test_period_closes_after_the_grace_window_and_keeps_its_lines(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    await set_price("meter", INTERVIEWS, unit_price_jpy=5_000)
    await record_usage(tenant, INTERVIEWS, 1, act="c:1", occurred_at=jst(2026, 11, 20))
    _, end = month_bounds(NOVEMBER)
    assert await close_due_periods(host, now=end + timedelta(days=3, seconds=-1), grace_days=3,
                                   tenant_ids=[tenant.id]) == 0
    assert not (await invoice_for(tenant.id, NOVEMBER, host)).closed
    assert await close_due_periods(host, now=end + timedelta(days=3), grace_days=3, tenant_ids=[tenant.id]) == 1
    assert await close_due_periods(host, now=end + timedelta(days=4), grace_days=3, tenant_ids=[tenant.id]) == 0
    closed = await invoice_for(tenant.id, NOVEMBER, host)
    assert closed.closed and closed.total_jpy == 5_000

    # Late usage and a new price do not change a closed invoice; the reconciliation shows the gap.
    await record_usage(tenant, INTERVIEWS, 1, act="c:late", occurred_at=jst(2026, 11, 25))
    await set_price("meter", INTERVIEWS, unit_price_jpy=9_999)
    assert (await invoice_for(tenant.id, NOVEMBER, host)).total_jpy == 5_000
    line = next(l for l in await reconciliation(NOVEMBER) if l.tenant_id == str(tenant.id))
    assert (line.ledger, line.invoiced, line.balanced) == (2, 1, False)
