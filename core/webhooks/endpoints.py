"""A tenant's webhook endpoints: registering, switching off and on, deleting, rotating the signing
secret, and replaying a delivery. Each change is audited by the caller (the pages)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from core.db.tables import Tenant
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import gettext as _
from core.webhooks.addresses import AddressRefused, checked_target
from core.webhooks.events import DELIVER_ACTOR, EVENT_NAMES
from core.webhooks.signing import new_secret, seal_secret
from core.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointProblem(ValueError):
    """The endpoint cannot be registered like this; the message (translated) is for the admin."""


async def _tenant_key(scope: TenantScope) -> Any:
    from core.runtime import runtime

    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    return runtime().storage.tenant_key(tenant)


async def register(scope: TenantScope, *, url: str, description: str, events: list[str], production: bool,
                   user: Any = None) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its signing secret (`whsec_...`, returned once, stored sealed).

    EndpointProblem when the URL is refused (`core.webhooks.addresses`: scheme, private or
    reserved address), no known event is chosen, or the description is not plain text."""
    chosen = [e for e in EVENT_NAMES if e in set(events)]
    if not chosen:
        raise EndpointProblem(_("Choose at least one event."))
    try:
        target = await asyncio.to_thread(checked_target, url, production=production)
        description = clean_text(description, label=_("Description"))
    except (AddressRefused, TextProblem) as exc:
        raise EndpointProblem(str(exc)) from exc
    secret = new_secret()
    endpoint = WebhookEndpoint(url=target.url, description=description, events=chosen,
                               created_by=getattr(user, "id", None))
    endpoint.sealed_secret = seal_secret(await _tenant_key(scope), endpoint.id, secret)
    await scope.add(endpoint)
    return endpoint, secret


async def rotate_secret(scope: TenantScope, endpoint: WebhookEndpoint) -> str:
    """A new signing secret for the endpoint (returned once); the old one signs nothing from now on."""
    secret = new_secret()
    await scope.update(WebhookEndpoint, {
        WebhookEndpoint.sealed_secret: seal_secret(await _tenant_key(scope), endpoint.id, secret),
        WebhookEndpoint.secret_rotated_at: datetime.now(timezone.utc),
    }).where(WebhookEndpoint.id == endpoint.id)
    return secret


async def set_active(scope: TenantScope, endpoint: WebhookEndpoint, active: bool) -> None:
    """Switch the endpoint on or off: a switched-off endpoint gets no new deliveries."""
    await scope.update(WebhookEndpoint, {WebhookEndpoint.active: active}).where(WebhookEndpoint.id == endpoint.id)


async def delete(scope: TenantScope, endpoint: WebhookEndpoint) -> None:
    """The endpoint with its deliveries and their attempts."""
    await scope.delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)


async def replay(scope: TenantScope, delivery: WebhookDelivery) -> UUID:
    """Send the delivery once more, as it was (same body and `webhook-id`, signed anew): a job."""
    from core.runtime import runtime

    return await runtime().tasks.enqueue(DELIVER_ACTOR, tenant_id=scope.tenant_id, delivery_id=str(delivery.id),
                                         replay=True)


async def deliveries_page(scope: TenantScope, endpoint: WebhookEndpoint, *, limit: int, offset: int
                          ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The endpoint's deliveries, newest first, each with its attempts (oldest first)."""
    rows = await scope.objects(WebhookDelivery).where(WebhookDelivery.endpoint == endpoint.id).order_by(
        WebhookDelivery.created_at, ascending=False).limit(limit).offset(offset)
    attempts: dict[Any, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in await scope.objects(WebhookAttempt).where(
                WebhookAttempt.delivery.is_in(list(attempts))).order_by(WebhookAttempt.started_at):
            attempts[attempt.delivery].append(attempt)
    return [(row, attempts[row.id]) for row in rows]
