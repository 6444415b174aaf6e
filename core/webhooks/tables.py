"""Tables of the webhooks domain; every row carries `tenant` (reach them through TenantScope)."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.db.tables import Tenant, User
from core.web.i18n import N_

DELIVERY_STATES = (N_("pending"), N_("retrying"), N_("delivered"), N_("failed"))  # shown translated


class WebhookEndpoint(Table, tablename="mendan_webhook_endpoint"):
    """An HR system's address and the events it hears; its signing secret is sealed under the
    tenant's data key (`core.webhooks.signing`)."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    events = JSON(default=[])  # event types, e.g. ["interview.scheduled"]
    active = Boolean(default=True)
    sealed_secret = Text()
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    secret_rotated_at = Timestamptz(null=True, default=None)


class WebhookDelivery(Table, tablename="mendan_webhook_delivery"):
    """One event for one endpoint: the exact body sent at every attempt, under one `webhook-id`."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    endpoint = ForeignKey(references=WebhookEndpoint, index=True, on_delete=OnDelete.cascade)
    message_id = Varchar(length=64, unique=True)  # the `webhook-id` header: receivers deduplicate by it
    event_type = Varchar(length=63)
    body = Text()  # the JSON payload as sent (signed byte for byte)
    state = Varchar(length=16, default="pending", index=True)  # one of DELIVERY_STATES
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    delivered_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table, tablename="mendan_webhook_attempt"):
    """One HTTP attempt of a delivery: when, how long, and what came back."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    delivery = ForeignKey(references=WebhookDelivery, index=True, on_delete=OnDelete.cascade)
    job_id = Varchar(length=36, default="", index=True)  # the job that made it: a re-queued job sees its own success
    replay = Boolean(default=False)
    started_at = Timestamptz(default=TimestamptzNow())
    duration_ms = Integer(default=0)
    status_code = Integer(null=True, default=None)  # None: no answer (network error, refused address)
    error = Text(default="")
    response_excerpt = Text(default="")
