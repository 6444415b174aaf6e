"""Invoice preview, period close and reconciliation.

A billing period is a calendar month in Japan time. Its invoice is the ledger's sums
per meter times the operator's unit prices, plus each option's monthly fee pro-rated
by day: a day (Asia/Tokyo) is charged when the option was on at any moment of it, and
the fee is the monthly fee times charged days over days in the month, rounded down
to the yen. A period closes once its grace window after the month's end has passed:
the invoice lines are then kept as they stood, and later usage for that month shows
up in the reconciliation report instead of changing a closed invoice.
"""

from __future__ import annotations

import calendar
import csv
import io
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from piccolo.query.functions.aggregate import Sum

from billing.catalogue import meters, options, prices
from billing.tables import DELIVERED, ClosedPeriod, UsageRow
from core import csv_output
from core.db.tables import Tenant
from core.hours import TOKYO
from core.plugins import PluginHost
from tenants.options import option_intervals

GRACE_DAYS = int(os.environ.get("BILLING_GRACE_DAYS", "3"))


def month_of(value: str | date | datetime | None) -> date:
    """The first day of a month given as `YYYY-MM`, a date, or an instant (read in Japan time)."""
    if value is None or value == "":
        value = datetime.now(timezone.utc)
    if isinstance(value, datetime):
        value = value.astimezone(TOKYO).date()
    if isinstance(value, str):
        year, month = value.split("-")[:2]
        value = date(int(year), int(month), 1)
    return value.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    return (datetime.combine(month, datetime.min.time(), tzinfo=TOKYO),
            datetime.combine(next_month(month), datetime.min.time(), tzinfo=TOKYO))


def charged_days(periods: list[tuple[datetime, datetime]]) -> int:
    """Days (Japan time) on which an option was on at any moment."""
    days: set[date] = set()
    for begin, end in periods:
        day, last = begin.astimezone(TOKYO).date(), (end - timedelta(microseconds=1)).astimezone(TOKYO).date()
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return len(days)


@dataclass
class InvoiceLine:
    kind: str  # meter | option
    key: str
    name_ja: str
    name_en: str
    quantity: int  # units of a meter, charged days of an option
    unit_price_jpy: int  # per unit, or per month for an option
    amount_jpy: int
    days_in_month: int = 0

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en


@dataclass
class Invoice:
    tenant_id: UUID
    month: date
    lines: list[InvoiceLine] = field(default_factory=list)
    closed_at: datetime | None = None

    @property
    def total_jpy(self) -> int:
        return sum(line.amount_jpy for line in self.lines)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


async def usage_sums(tenant_id: Any, start: datetime, end: datetime) -> dict[str, int]:
    rows = await UsageRow.select(UsageRow.meter, Sum(UsageRow.quantity, alias="quantity")).where(
        (UsageRow.tenant == tenant_id) & (UsageRow.occurred_at >= start) & (UsageRow.occurred_at < end)
    ).group_by(UsageRow.meter)
    return {row["meter"]: int(row["quantity"] or 0) for row in rows}


async def compute_invoice(tenant_id: Any, month: date, host: PluginHost) -> Invoice:
    """The invoice of a month from the ledger and the option history as they are now."""
    start, end = month_bounds(month)
    catalogue, meter_prices = meters(host), await prices("meter")
    invoice = Invoice(tenant_id=tenant_id, month=month)
    for key, quantity in sorted((await usage_sums(tenant_id, start, end)).items()):
        known = catalogue.get(key)
        price = meter_prices[key].unit_price_jpy if key in meter_prices else 0
        invoice.lines.append(InvoiceLine(
            kind="meter", key=key, name_ja=known.meter.name_ja if known else key,
            name_en=known.meter.name_en if known else key, quantity=quantity, unit_price_jpy=price,
            amount_jpy=quantity * price,
        ))
    option_catalogue, option_prices = options(host), await prices("option")
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    for key, periods in sorted((await option_intervals(tenant_id, start, end)).items()):
        if key not in option_catalogue and key not in option_prices:
            continue  # a basic service switched off and on: no option fee
        days = charged_days(periods)
        if not days:
            continue
        known = option_catalogue.get(key)
        fee = option_prices[key].unit_price_jpy if key in option_prices else 0
        invoice.lines.append(InvoiceLine(
            kind="option", key=key, name_ja=known.name_ja if known else key, name_en=known.name_en if known else key,
            quantity=days, unit_price_jpy=fee, amount_jpy=fee * days // days_in_month, days_in_month=days_in_month,
        ))
    return invoice


async def invoice_for(tenant_id: Any, month: date, host: PluginHost) -> Invoice:
    """A closed month's kept invoice, else the preview computed now."""
    closed = await ClosedPeriod.select(ClosedPeriod.lines, ClosedPeriod.closed_at).where(
        (ClosedPeriod.tenant == tenant_id) & (ClosedPeriod.month == month)
    ).first().output(load_json=True)
    if closed is None:
        return await compute_invoice(tenant_id, month, host)
    return Invoice(tenant_id=tenant_id, month=month, lines=[InvoiceLine(**line) for line in closed["lines"]],
                   closed_at=closed["closed_at"])


def closes_at(month: date, grace_days: int = GRACE_DAYS) -> datetime:
    return month_bounds(month)[1] + timedelta(days=grace_days)


async def close_due_periods(
    host: PluginHost, *, now: datetime | None = None, grace_days: int = GRACE_DAYS, tenant_ids: list[Any] | None = None
) -> int:
    """Close every month, from the tenant's creation or first usage, whose grace window has ended;
    returns how many were closed."""
    now = now or datetime.now(timezone.utc)
    closed = 0
    query = Tenant.select(Tenant.id, Tenant.created_at)
    if tenant_ids is not None:
        query = query.where(Tenant.id.is_in(tenant_ids))
    for tenant in await query:
        done = {row["month"] for row in await ClosedPeriod.select(ClosedPeriod.month).where(
            ClosedPeriod.tenant == tenant["id"])}
        first_usage = await UsageRow.select(UsageRow.occurred_at).where(UsageRow.tenant == tenant["id"]).order_by(
            UsageRow.occurred_at).first()
        month = min(month_of(tenant["created_at"]), month_of(first_usage["occurred_at"]) if first_usage else date.max)
        while closes_at(month, grace_days) <= now:
            if month not in done:
                invoice = await compute_invoice(tenant["id"], month, host)
                # One closed period per tenant and month (a unique index): of two closings at
                # once, the first stays final and the second changes nothing.
                inserted = await ClosedPeriod.insert(ClosedPeriod(
                    tenant=tenant["id"], month=month, lines=[asdict(line) for line in invoice.lines],
                    total_jpy=invoice.total_jpy,
                )).on_conflict(target=(ClosedPeriod.tenant, ClosedPeriod.month), action="DO NOTHING").returning(
                    ClosedPeriod.id)
                closed += len(inserted)
            month = next_month(month)
    return closed


async def close_periods(tenant_id: str | None = None) -> str:
    """The `billing.close_periods` actor."""
    from core.runtime import runtime

    return f"{await close_due_periods(runtime().host)} period(s) closed"


CSV_HEADER = ["month", "kind", "key", "name", "quantity", "unit_price_jpy", "amount_jpy", "days_in_month"]


def invoice_csv(invoice: Invoice, language: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    month = invoice.month.strftime("%Y-%m")
    for line in invoice.lines:
        writer.writerow(csv_output.row([month, line.kind, line.key, line.name(language), line.quantity,
                                        line.unit_price_jpy, line.amount_jpy, line.days_in_month or ""]))
    writer.writerow([month, "total", "", "", "", "", invoice.total_jpy, ""])
    return out.getvalue()


@dataclass
class ReconciliationLine:
    tenant_id: str
    meter: str
    ledger: int = 0  # units recorded
    delivered: int = 0  # units Stripe has (sent or already there)
    flagged: int = 0  # too old for Stripe, waiting for a manual adjustment
    adjusted: int = 0  # adjusted by hand by an operator
    rejected: int = 0
    unsent: int = 0
    invoiced: int | None = None  # units on the closed invoice, None while the month is open

    @property
    def balanced(self) -> bool:
        shipped = self.delivered + self.adjusted == self.ledger
        return shipped and (self.invoiced is None or self.invoiced == self.ledger)


async def reconciliation(month: date) -> list[ReconciliationLine]:
    """Per tenant and meter: the ledger's units against what reached Stripe and the closed invoice."""
    start, end = month_bounds(month)
    rows = await UsageRow.raw(
        'SELECT u.tenant AS tenant, u.meter AS meter, d.outcome AS outcome, SUM(u.quantity) AS quantity '
        'FROM billing_usage u LEFT JOIN billing_delivery d ON d."usage" = u.id '
        'WHERE u.occurred_at >= {} AND u.occurred_at < {} GROUP BY u.tenant, u.meter, d.outcome',
        start.astimezone(timezone.utc), end.astimezone(timezone.utc),
    )
    lines: dict[tuple[str, str], ReconciliationLine] = {}
    for row in rows:
        line = lines.setdefault((str(row["tenant"]), row["meter"]),
                                ReconciliationLine(tenant_id=str(row["tenant"]), meter=row["meter"]))
        quantity, outcome = int(row["quantity"]), row["outcome"]
        line.ledger += quantity
        if outcome in DELIVERED:
            line.delivered += quantity
        elif outcome is None:
            line.unsent += quantity
        else:
            setattr(line, outcome, getattr(line, outcome) + quantity)
    for closed in await ClosedPeriod.select(ClosedPeriod.tenant, ClosedPeriod.lines).where(
        ClosedPeriod.month == month
    ).output(load_json=True):
        for item in closed["lines"]:
            if item["kind"] == "meter":
                line = lines.setdefault((str(closed["tenant"]), item["key"]),
                                        ReconciliationLine(tenant_id=str(closed["tenant"]), meter=item["key"]))
                line.invoiced = item["quantity"]
        for line in lines.values():
            if line.tenant_id == str(closed["tenant"]) and line.invoiced is None:
                line.invoiced = 0
    return sorted(lines.values(), key=lambda line: (line.tenant_id, line.meter))
