"""Monthly monitoring of the AI's predictions: an immutable dated snapshot per tenant and
month, compared with the previous one, and a mail to the tenant's admins when a threshold
is crossed.

Months are Tokyo calendar months. Running the monitoring again for a month that already has
a snapshot changes nothing and mails no one, so the embedded scheduler, cron and a retried
job can all run it safely.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import structlog

from core.interviews.api import definitions, groups_for_interviews, report_names
from core.tables import json_value
from core.tables import Tenant, User
from core.fairness import FairnessSettings, analyse_item, fairness_settings, histogram, make_report, psi
from core.hours import TOKYO, now
from core.mail import build_message
from core.runtime import runtime
from core.schedules import ScheduledJob
from core.tenancy import TenantScope
from core.usage import record_usage
from plugins.ethics_prediction.tables import Snapshot

KEY = "ethics_prediction"
from plugins.ethics_prediction.meters import ANALYSES, MONITORINGS
RUN_DAY, RUN_HOUR = 1, 4  # 04:00 Tokyo on the 1st: the month before is complete
IMPACT_RATIO_GROWTH = 0.05  # an impact ratio this much lower than last month counts as a grown disparity
log = structlog.get_logger("mendan.ethics_prediction")


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a Tokyo calendar month "YYYY-MM", as aware datetimes. ValueError if malformed."""
    start_day = datetime.strptime(period, "%Y-%m").date()
    following = (start_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (datetime.combine(start_day, datetime.min.time(), TOKYO),
            datetime.combine(following, datetime.min.time(), TOKYO))


def previous_period(at: datetime) -> str:
    """The last complete Tokyo month before `at`, as "YYYY-MM"."""
    first = at.astimezone(TOKYO).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def next_run(at: datetime) -> datetime:
    """The next 04:00 Tokyo on the 1st of a month strictly after `at`."""
    local = at.astimezone(TOKYO)
    run = local.replace(day=RUN_DAY, hour=RUN_HOUR, minute=0, second=0, microsecond=0)
    if run <= local:
        run = (run.replace(day=28) + timedelta(days=4)).replace(day=RUN_DAY)
    return run


SCHEDULE = ScheduledJob(actor=f"{KEY}.monitor", next_run=next_run)


def _digest(report: dict[str, Any], histograms: dict[str, Any]) -> str:
    canonical = json.dumps({"report": report, "histograms": histograms}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify(snapshot: Snapshot) -> bool:
    """Whether a stored snapshot still matches the digest taken when it was made."""
    return _digest(json_value(snapshot.report), json_value(snapshot.histograms)) == snapshot.digest


def latest_per_interview(predictions: list[dict[str, Any]], item_key: str) -> pd.Series:
    """Each interview's latest prediction of one item in the window (re-predictions replace)."""
    rows = sorted((p for p in predictions if p["item_key"] == item_key and p["value"] is not None),
                  key=lambda p: p["created_at"])
    return pd.Series({p["interview_id"]: float(p["value"]) for p in rows}, dtype=float)


def analyse_predictions(records: dict[str, Any], groups: pd.DataFrame, attributes: list[str],
                        settings: FairnessSettings, *, subject: tuple[str, str], made_at: str,
                        previous: Snapshot | None = None, names: dict[str, Any] | None = None
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report, histograms) of the predictions in a window, compared with `previous` when given;
    `names` says how the attributes and their values are named (core.interviews.api.report_names)."""
    items, histograms = [], {}
    for key, spec in records["items"].items():
        scores = latest_per_interview(records["predictions"], key)
        if scores.empty:
            continue
        items.append(analyse_item(key=key, name=spec["name"], scale_min=spec["scale_min"], scale_max=spec["scale_max"],
                                  groups=groups, attributes=attributes, settings=settings, predictions=scores))
        histograms[key] = {"name": spec["name"], "scale_min": spec["scale_min"], "scale_max": spec["scale_max"],
                           "counts": histogram(scores, spec["scale_min"], spec["scale_max"])}
    drift = None
    if previous is not None:
        before_h = json_value(previous.histograms) or {}
        before_items = {i["key"]: i for i in (json_value(previous.report) or {}).get("items", [])}
        drift = {"previous": previous.period, "items": {}, "disparities": []}
        for key, h in histograms.items():
            if key in before_h:
                drift["items"][key] = {"name": h["name"], "psi": round(psi(before_h[key]["counts"], h["counts"]), 4),
                                       "before": before_h[key]["counts"], "after": h["counts"],
                                       "scale_min": h["scale_min"], "scale_max": h["scale_max"]}
        for item in items:
            before = {(r["category"], r["group"]): r for r in before_items.get(item["key"], {}).get("prediction_rates", [])}
            for row in item.get("prediction_rates", []):
                if not row["flagged"]:
                    continue
                old = before.get((row["category"], row["group"]))
                grown = old is None or not old["flagged"] or (
                    old["impact_ratio"] is not None and row["impact_ratio"] < old["impact_ratio"] - IMPACT_RATIO_GROWTH)
                if grown:
                    drift["disparities"].append({"item": item["key"], "name": item["name"], "category": row["category"],
                                                 "group": row["group"], "after": row["impact_ratio"],
                                                 "before": old["impact_ratio"] if old else None})
    report = make_report(kind="prediction", subject_ja=f"{subject[0]} の予測", subject_en=f"Predictions of {subject[1]}",
                         made_at=made_at, groups=groups, attributes=attributes, items=items, settings=settings,
                         drift=drift, names=names)
    return report, histograms


async def _records(tenant_id: Any, since: datetime, until: datetime) -> dict[str, Any]:
    host = runtime().host
    answers = await host.call_for_tenant("mendan_prediction_records", tenant_id=tenant_id, since=since, until=until)
    records: dict[str, Any] = {"items": {}, "predictions": []}
    for _key, answer in answers:
        records["items"].update(answer["items"])
        records["predictions"].extend(answer["predictions"])
    return records


async def window_report(tenant_id: Any, since: datetime, until: datetime) -> dict[str, Any]:
    """A report (not stored) of the predictions made in [since, until): the on-demand analysis."""
    scope = TenantScope(tenant_id)
    records = await _records(tenant_id, since, until)
    defined = await definitions(scope)
    attributes = [d.key for d in defined]
    interview_ids = sorted({p["interview_id"] for p in records["predictions"]})
    groups = await groups_for_interviews(scope, interview_ids)
    settings = await fairness_settings(runtime().host, tenant_id, KEY)
    label = f"{since.astimezone(TOKYO):%Y-%m-%d} – {(until - timedelta(seconds=1)).astimezone(TOKYO):%Y-%m-%d}"
    report, _h = analyse_predictions(records, groups, attributes, settings, subject=(label, label),
                                     made_at=now().isoformat(), names=report_names(defined))
    # One analysis billed per window and day: reloading the page or fetching its PDF is not a new one.
    await record_usage(tenant_id, ANALYSES, 1,
                       act=f"window:{since.isoformat()}:{until.isoformat()}:{now().astimezone(TOKYO).date()}")
    return report


async def monitor_tenant(tenant_id: Any, period: str, *, at: datetime | None = None) -> Snapshot | None:
    """Make the tenant's snapshot of `period` ("YYYY-MM") unless it exists; mail the admins when
    it crosses a threshold. Returns the new snapshot, or None when one already existed."""
    scope = TenantScope(tenant_id)
    if await scope.count(Snapshot).where(Snapshot.period == period):
        return None
    since, until = month_bounds(period)
    records = await _records(tenant_id, since, until)
    defined = await definitions(scope)
    attributes = [d.key for d in defined]
    interview_ids = sorted({p["interview_id"] for p in records["predictions"]})
    groups = await groups_for_interviews(scope, interview_ids)
    settings = await fairness_settings(runtime().host, tenant_id, KEY)
    previous = await scope.objects(Snapshot).where(Snapshot.period < period).order_by(
        Snapshot.period, ascending=False).first()
    report, histograms = analyse_predictions(records, groups, attributes, settings, subject=(period, period),
                                             made_at=(at or now()).isoformat(), previous=previous,
                                             names=report_names(defined))
    alerted = report["risk"] != "low" and bool(records["predictions"])
    snapshot = await scope.add(Snapshot(tenant=scope.tenant_id, period=period, since=since, until=until,
                                        made_at=at or now(), n_predictions=len(records["predictions"]),
                                        risk=report["risk"], alerted=alerted, histograms=histograms, report=report,
                                        digest=_digest(report, histograms)))
    await record_usage(scope.tenant_id, MONITORINGS, 1, act=f"snapshot:{period}", occurred_at=at or now())
    if alerted:
        await mail_admins(scope, snapshot, report)
    log.info("ethics_prediction.snapshot", period=period, risk=report["risk"], alerted=alerted,
             predictions=len(records["predictions"]))
    return snapshot


async def mail_admins(scope: TenantScope, snapshot: Snapshot, report: dict[str, Any]) -> int:
    """One mail per active admin of the tenant, in the admin's language (Japanese unless they chose
    English), pointing at the snapshot."""
    rt = runtime()
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    admins = await scope.objects(User).where((User.role == "admin") & (User.active == True))  # noqa: E712
    link = f"{rt.settings.base_url.rstrip('/')}/t/{tenant.slug}/{KEY}/snapshots/{snapshot.id}"
    level = {"high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}[report["risk"]]
    findings = {language: "\n".join(f"- {f[language]}" for f in report["findings"] if f["level"] != "low")
                for language in ("ja", "en")}
    mails = {
        "ja": (f"[mendan] AI予測の監視: {snapshot.period}",
               f"{tenant.name}\n\nAI予測の月次監視（{snapshot.period}）で閾値を超える結果がありました。リスク: {level[0]}\n"
               f"{findings['ja']}\n\n詳細: {link}\n"),
        "en": (f"[mendan] AI prediction monitoring: {snapshot.period}",
               f"{tenant.name}\n\nThe monthly monitoring of AI predictions ({snapshot.period}) crossed a threshold. "
               f"Risk: {level[1]}\n{findings['en']}\n\nDetails: {link}\n"),
    }
    for admin in admins:
        subject, text = mails["en" if admin.language == "en" else "ja"]
        message = build_message(sender=rt.settings.mail_from, to=admin.email, subject=subject, text=text)
        await rt.tasks.enqueue("core.send_mail", tenant_id=scope.tenant_id, message=message.as_string())
    return len(admins)


async def monitor_all(at: datetime | None = None, period: str | None = None) -> list[Snapshot]:
    """Snapshot the last complete month (or `period`) for every tenant that has this option."""
    at = at or now()
    period = period or previous_period(at)
    host = runtime().host
    made = []
    for tenant in await Tenant.objects().where(Tenant.status == "active"):
        if KEY not in await host.enabled_keys(tenant.id):
            continue
        snapshot = await monitor_tenant(tenant.id, period, at=at)
        if snapshot is not None:
            made.append(snapshot)
    return made


async def monitor_job(tenant_id: str | None = None) -> str:
    """The `ethics_prediction.monitor` actor, enqueued monthly by the embedded scheduler."""
    made = await monitor_all()
    return f"{len(made)} snapshot(s)"
