"""The webhooks domain's answers to the host's hooks, registered by the assembly
(`mendan.assembly`): its navigation and piccolo app, and the events it sends on.

A domain hears every tenant's hook calls, so each event reaches the tenant's endpoints whichever
plugins are enabled. Each answer stores and queues deliveries only (`events.publish`), so the
caller (a page, an analysis job) is not held up by a slow receiver.
"""

from __future__ import annotations

from typing import Any

from core.features import insufficient_data_text
from core.hookspecs import hookimpl
from core.plugins import NavItem
from core.webhooks.events import DELIVER_ACTOR, publish

WEBHOOKS_NAV = NavItem(path="webhooks/", label_ja="Webhook", label_en="Webhooks", order=870)


@hookimpl
def mendan_nav_items(user: Any):
    return [WEBHOOKS_NAV] if user is not None and user.role == "admin" else []


@hookimpl
def mendan_job_names():
    return {DELIVER_ACTOR: ("Webhookの送信", "Webhook delivery")}


@hookimpl
def mendan_piccolo_apps():
    return ["core.webhooks.piccolo_app"]


@hookimpl
async def mendan_interview_scheduled(tenant_id: Any, interview_id: Any) -> None:
    from core.interviews.tables import Interview

    interview = await Interview.objects().where(
        (Interview.id == interview_id) & (Interview.tenant == tenant_id)).first()
    await publish(tenant_id, "interview.scheduled", {
        "interview_id": interview_id, "kind": interview.kind, "starts_at": interview.starts_at,
        "duration_minutes": interview.duration_minutes, "state": interview.state})


@hookimpl
async def mendan_recording_completed(tenant_id: Any, interview_id: Any, recording_id: Any) -> None:
    await publish(tenant_id, "recording.completed", {"interview_id": interview_id, "recording_id": recording_id})


@hookimpl
async def mendan_interview_analysed(tenant_id: Any, interview_id: Any, succeeded: Any, failed: Any) -> None:
    await publish(tenant_id, "analysis.finished", {"interview_id": interview_id, "succeeded": list(succeeded),
                                                   "failed": list(failed)})


def _prediction_data(prediction: Any) -> dict[str, Any]:
    reason = prediction.insufficient_data or None
    return {"prediction_id": prediction.id, "interview_id": prediction.interview_id,
            "item_key": prediction.item_key, "value": prediction.value, "source": prediction.source,
            "insufficient_data": reason, "status": prediction.status,
            # The receiver shows it to people: the reason in words, in both languages.
            "insufficient_data_text": {language: insufficient_data_text(reason, language) for language in ("ja", "en")}
            if reason else None}


@hookimpl
async def mendan_prediction_made(tenant_id: Any, prediction: Any) -> None:
    await publish(tenant_id, "prediction.made", _prediction_data(prediction))


@hookimpl
async def mendan_prediction_confirmed(tenant_id: Any, prediction: Any) -> None:
    await publish(tenant_id, "prediction.confirmed", {**_prediction_data(prediction),
                                                      "override_value": prediction.override_value,
                                                      "reviewed_at": prediction.reviewed_at})


@hookimpl
async def mendan_model_built(tenant_id: Any, version_id: Any) -> None:
    from core.runtime import runtime

    data: dict[str, Any] = {"version_id": str(version_id)}
    for _key, versions in await runtime().host.call_for_tenant("mendan_model_versions", tenant_id=tenant_id):
        for version in versions:
            if version["id"] == str(version_id):
                data |= {"number": version["number"], "state": version["state"], "active": version["active"],
                         "n_interviews": version["n_interviews"]}
    await publish(tenant_id, "model.built", data)
