"""The events a webhook can carry, and publishing one: a delivery per subscribed endpoint.

A payload is `{"type": ..., "timestamp": ISO 8601 (UTC), "data": {...}}` with ids and the
essentials only (never names or answers): what an HR system needs to fetch the rest.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import structlog

from core.db.json_columns import json_value
from core.tenancy import TenantScope
from core.web.i18n import N_
from core.webhooks.tables import WebhookDelivery, WebhookEndpoint

log = structlog.get_logger("mendan.webhooks")
DELIVER_ACTOR = "core.deliver_webhook"


@dataclass(frozen=True)
class EventType:
    name: str
    label: str  # English msgid; pages show `_(label)`


EVENT_TYPES = (
    EventType("interview.scheduled", N_("An interview was scheduled")),
    EventType("recording.completed", N_("A recording's upload completed")),
    EventType("analysis.finished", N_("An interview's analysis finished")),
    EventType("prediction.made", N_("The AI predicted a score")),
    EventType("prediction.confirmed", N_("A person confirmed or replaced an AI score")),
    EventType("model.built", N_("An AI model version was built")),
)
EVENT_NAMES = tuple(e.name for e in EVENT_TYPES)


def _json_ready(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    raise TypeError(f"{type(value).__name__} in a webhook payload")


def payload(event_type: str, data: dict[str, Any], at: datetime | None = None) -> str:
    """The JSON body of an event (ids as strings, times in ISO 8601 UTC)."""
    at = at or datetime.now(timezone.utc)
    return json.dumps({"type": event_type, "timestamp": at.astimezone(timezone.utc).isoformat(), "data": data},
                      default=_json_ready, ensure_ascii=False, separators=(",", ":"))


def new_message_id() -> str:
    """A `webhook-id`: unique per event and endpoint, the same at every attempt and replay."""
    return "msg_" + secrets.token_urlsafe(18)


async def publish(tenant_id: Any, event_type: str, data: dict[str, Any]) -> list[UUID]:
    """Store one delivery of the event for each of the tenant's active endpoints that chose it and
    queue its sending; returns the delivery ids ([] when no endpoint listens). `data` holds JSON
    values, UUIDs and aware datetimes."""
    from core.runtime import runtime

    if event_type not in EVENT_NAMES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    scope = TenantScope(tenant_id if isinstance(tenant_id, UUID) else UUID(str(tenant_id)))
    endpoints = [e for e in await scope.objects(WebhookEndpoint).where(WebhookEndpoint.active == True)  # noqa: E712
                 if event_type in (json_value(e.events) or [])]
    if not endpoints:
        return []
    body = payload(event_type, data)
    ids = []
    for endpoint in endpoints:
        delivery = await scope.add(WebhookDelivery(endpoint=endpoint.id, message_id=new_message_id(),
                                                   event_type=event_type, body=body))
        await runtime().tasks.enqueue(DELIVER_ACTOR, tenant_id=scope.tenant_id, delivery_id=str(delivery.id))
        ids.append(delivery.id)
    log.info("webhook_event_published", event_type=event_type, deliveries=len(ids))
    return ids
