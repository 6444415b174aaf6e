"""The plugin's work against the database: text features for models, the quality gate, the lift job."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

from core.interviews.api import expert_labels, transcripts_of_interview
from core.runtime import runtime
from core.storage import BlobNotFound
from core.tables import Tenant
from core.tasks import JobRefused, report_progress
from core.tenancy import TenantScope
from core.web.i18n import N_, gettext as _
from plugins.conversation_analysis import language
from plugins.conversation_analysis.extractor import MIN_INTERVIEW_CHARS, ConversationExtractor

TEXT_COLUMN = f"{ConversationExtractor.name}.answer_text"
REPORT_KEY = "conversation_analysis/lift.json"


def gate(transcripts: list[Any]) -> dict[str, Any] | None:
    """Why an interview's conversation features are left out, or None when they are used:
    `{"code": "missing"}` without any transcript, `{"code": "no_speech"}` when its transcripts hold
    no words at all (the recogniser found no speech, or staff removed every sentence),
    `{"code": "too_short", "chars", "minimum"}` when its answers hold fewer than MIN_INTERVIEW_CHARS
    characters."""
    if not transcripts:
        return {"code": "missing"}
    chars = sum(len("".join(s.transcript.text().split())) for s in transcripts)
    if chars == 0:
        return {"code": "no_speech"}
    if chars < MIN_INTERVIEW_CHARS:
        return {"code": "too_short", "chars": chars, "minimum": MIN_INTERVIEW_CHARS}
    return None


def gate_text(reason: dict[str, Any]) -> str:
    """The gate's reason in the request's language."""
    if reason["code"] == "missing":
        return _("The conversation features are left out: this interview has no transcript yet.")
    if reason["code"] == "no_speech":
        return _("The conversation features are left out: no speech was found in this interview's recordings.")
    return _("The conversation features are left out: the answers hold only %(chars)s characters; at least "
             "%(minimum)s are needed.") % reason


async def interview_texts(scope: TenantScope, interview_ids: list[Any]) -> dict[str, str]:
    """Interview id (str) -> the answers' lemmas joined by spaces, for interviews that pass the gate."""
    out = {}
    for interview_id in interview_ids:
        stored = await transcripts_of_interview(scope, UUID(str(interview_id)))
        if gate(stored) is None:
            out[str(interview_id)] = " ".join(
                language.model_text(s.transcript.text(), s.transcript.language) for s in stored)
    return out


async def panel_context(tenant: Any, interview: Any) -> dict[str, Any]:
    from core.features import feature_labels, features_of
    from plugins.conversation_analysis.extractor import RelevanceExtractor

    scope = TenantScope(tenant.id)
    reason = gate(await transcripts_of_interview(scope, interview.id))
    labels = feature_labels([ConversationExtractor(), RelevanceExtractor()])
    rows = [(labels[key].name(), value, labels[key].unit, labels[key].meaning())
            for key, value in sorted((await features_of(scope, interview.id)).items()) if key in labels]
    return {"gate": gate_text(reason) if reason else "", "rows": rows}


async def _training_tables(scope: TenantScope):
    import pandas as pd

    from core.tables import FeatureValue
    from core.model_training import ItemSpec

    host = runtime().host
    versions = {e.name: e.version for e in await host.extractors_for(scope.tenant_id)}
    labels_by_interview = await expert_labels(scope)
    ids = list(labels_by_interview)
    rows = [r for r in await scope.select(FeatureValue, FeatureValue.interview_id, FeatureValue.extractor,
                                          FeatureValue.extractor_version, FeatureValue.name, FeatureValue.value).where(
        FeatureValue.recording_id.is_null() & FeatureValue.interview_id.is_in(ids or [UUID(int=0)]))
            if versions.get(r["extractor"]) == r["extractor_version"]]
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise JobRefused(N_("no analysed interview has expert evaluations"))
    frame["column"] = frame["extractor"] + "." + frame["name"]
    frame["interview_id"] = frame["interview_id"].astype(str)
    features = frame.pivot_table(index="interview_id", columns="column", values="value", aggfunc="last")
    labels = pd.DataFrame.from_dict({str(k): v for k, v in labels_by_interview.items()}, orient="index")
    texts = pd.DataFrame({TEXT_COLUMN: pd.Series(await interview_texts(scope, list(features.index)), dtype=object)})
    from core.interviews.api import QuestionSetVersion, items_of

    specs = {}
    for version in await scope.objects(QuestionSetVersion).order_by(QuestionSetVersion.created_at):
        for item in items_of(version):
            specs[item.key] = ItemSpec(item.key, item.name, item.scale_min, item.scale_max)
    return features, texts, labels, [specs[k] for k in labels.columns if k in specs]


async def compute_lift(tenant_id: str) -> str:
    """The `conversation_analysis.lift` actor: the lift report over the tenant's training material,
    kept encrypted in the tenant's blob store (one report, the newest)."""
    from datetime import datetime, timezone

    from plugins.conversation_analysis.lift import lift_report

    scope = TenantScope(UUID(tenant_id))
    # N_: the job page translates it into the viewer's language.
    report_progress(5, N_("collecting the training material"))
    features, texts, labels, items = await _training_tables(scope)
    report = await asyncio.to_thread(lift_report, features, texts, labels, items, ConversationExtractor.name, threads=2)
    report["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rt = runtime()
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    with rt.storage.writer(rt.storage.tenant_key(tenant), REPORT_KEY) as out:
        out.write(json.dumps(report, allow_nan=True).encode())
    report_progress(100, N_("lift report ready"))
    return f"lift report over {report['n_interviews']} interviews"


async def latest_report(tenant: Any) -> dict[str, Any] | None:
    rt = runtime()
    try:
        raw = b"".join(rt.storage.read(rt.storage.tenant_key(tenant), REPORT_KEY))
    except BlobNotFound:
        return None
    return json.loads(raw)


def report_view(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per item: bars of Spearman per variant (the model page's bar chart) and the plain sentence."""
    names = {"face": _("Face features only"), "text": _("Conversation only"), "both": _("Face and conversation")}
    out = []
    for item in report.get("items", []):
        bars = [(names[v], m["spearman"], max(0.0, 100 * m["spearman"]), m["mae"])
                for v, m in item["variants"].items() if m["spearman"] is not None and m["spearman"] == m["spearman"]]
        out.append({"name": item["name"], "n": item["n"], "variants": item["variants"], "bars": bars,
                    "sentence": sentence(item)})
    return out


def sentence(item: dict[str, Any]) -> str:
    """"Conversation features improved 協調性 by 0.12 Spearman (95 % interval 0.05-0.19)." or its kin."""
    if "spearman_interval" not in item:
        return _("%(item)s: the lift could not be measured (no face or no conversation features).") % {"item": item["name"]}
    low, high = item["spearman_interval"]
    values = {"item": item["name"], "diff": f"{item['spearman_diff']:+.2f}", "low": f"{low:.2f}", "high": f"{high:.2f}"}
    if low > 0:
        return _("Conversation features improved %(item)s by %(diff)s Spearman (95%% interval %(low)s to %(high)s).") % values
    if high < 0:
        return _("Conversation features made %(item)s worse by %(diff)s Spearman (95%% interval %(low)s to %(high)s).") % values
    return _("Conversation features did not clearly change %(item)s: %(diff)s Spearman (95%% interval %(low)s to "
             "%(high)s, which includes 0).") % values
