"""Sending a delivery: the `core.deliver_webhook` actor, one HTTP attempt per run of its job.

A non-2xx answer, a network error or the attempt's time limit raises DeliveryFailed, so the job
queue retries with its exponential back-off (`MENDAN_JOB_MAX_RETRIES`, `MENDAN_JOB_MIN_BACKOFF_MS`);
once it gives up, the delivery is `failed`. An address refused at sending time (SSRF) fails at once.
Every attempt is logged (`WebhookAttempt`). A job re-run after its worker died (the job table's
re-queue, a broker's redelivery) first looks for its own successful attempt and sends nothing
again when there is one; the unchanged `webhook-id` lets a receiver drop a copy sent just before
such a death.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import structlog

from core import __version__
from core.db.tables import Tenant
from core.runtime import runtime
from core.tasks import JobRefused, current_job_id, on_final_failure
from core.tenancy import TenantScope
from core.web.i18n import N_
from core.webhooks.addresses import AddressRefused, checked_target, connect_url
from core.webhooks.events import DELIVER_ACTOR
from core.webhooks.signing import open_secret, signed_headers
from core.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = structlog.get_logger("mendan.webhooks")
ATTEMPT_SECONDS = 10  # the whole attempt: resolving, connecting, sending, the answer's first bytes
EXCERPT_BYTES = 500  # of the answer, kept in the delivery log


class DeliveryFailed(Exception):
    """The receiver did not take the delivery (no 2xx answer); the job queue tries again."""


class DeliveryRefused(JobRefused):
    """The delivery cannot be sent however often it is tried (a refused address, a switched-off
    endpoint): it fails at once."""


async def _post(url: str, production: bool, headers: dict[str, str], body: str) -> tuple[int, str]:
    target = await asyncio.to_thread(checked_target, url, production=production)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=ATTEMPT_SECONDS) as client:
        request_headers = {**headers, "host": urlsplit(target.url).netloc, "user-agent": f"mendan-webhooks/{__version__}"}
        async with client.stream("POST", connect_url(target), content=body.encode(), headers=request_headers,
                                 extensions={"sni_hostname": target.host}) as response:
            excerpt = b""
            async for chunk in response.aiter_raw():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return response.status_code, excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")


async def _succeeded_in_job(scope: TenantScope, delivery_id: Any, job_id: str) -> bool:
    return bool(job_id) and await scope.count(WebhookAttempt).where(
        (WebhookAttempt.delivery == delivery_id) & (WebhookAttempt.job_id == job_id)
        & (WebhookAttempt.status_code >= 200) & (WebhookAttempt.status_code < 300)) > 0


async def deliver(tenant_id: str, delivery_id: str, replay: bool = False) -> str:
    """The `core.deliver_webhook` actor: one attempt of the delivery (a replay: even when delivered).

    Returns what happened, for the job row; raises DeliveryFailed (retried) or DeliveryRefused."""
    scope = TenantScope(UUID(tenant_id))
    delivery = await scope.objects(WebhookDelivery).where(WebhookDelivery.id == delivery_id).first()
    if delivery is None:
        return "the endpoint was deleted"
    job_id = current_job_id.get() or ""
    if (delivery.state == "delivered" and not replay) or await _succeeded_in_job(scope, delivery.id, job_id):
        return "delivered already"
    endpoint = await scope.objects(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint).first()
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    status, excerpt, error, refused = None, "", "", False
    if not endpoint.active and not replay:
        error, refused = N_("the endpoint is switched off"), True
    else:
        tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
        secret = open_secret(runtime().storage.tenant_key(tenant), endpoint.id, endpoint.sealed_secret)
        headers = signed_headers(secret, delivery.message_id, started, delivery.body)
        try:
            async with asyncio.timeout(ATTEMPT_SECONDS):
                status, excerpt = await _post(endpoint.url, runtime().settings.is_production, headers, delivery.body)
        except AddressRefused as exc:
            error, refused = str(exc), True
        except TimeoutError:
            error = N_("no answer within the time limit") + f": {ATTEMPT_SECONDS} s"
        except httpx.HTTPError as exc:
            error = (N_("the receiver could not be reached") + f": {type(exc).__name__}: {exc}")[:1000]
    ok = status is not None and 200 <= status < 300
    await scope.add(WebhookAttempt(delivery=delivery.id, job_id=job_id, replay=replay, started_at=started,
                                   duration_ms=int((time.monotonic() - clock) * 1000), status_code=status,
                                   error=error, response_excerpt=excerpt))
    values: dict[Any, Any] = {WebhookDelivery.attempts: WebhookDelivery.attempts + 1,
                              WebhookDelivery.state: "delivered" if ok else "retrying"}
    if ok:
        values[WebhookDelivery.delivered_at] = datetime.now(timezone.utc)
    await scope.update(WebhookDelivery, values).where(WebhookDelivery.id == delivery.id)
    log.info("webhook_attempt", event_type=delivery.event_type, status=status, error=error, replay=replay)
    if ok:
        return f"delivered ({status})"
    if refused:
        raise DeliveryRefused(error)
    raise DeliveryFailed(error or N_("the receiver answered with an error") + f": HTTP {status}")


async def _failed_for_good(kwargs: dict[str, Any]) -> None:
    await WebhookDelivery.update({WebhookDelivery.state: "failed"}).where(
        (WebhookDelivery.id == kwargs["delivery_id"]) & (WebhookDelivery.tenant == kwargs["tenant_id"]))


on_final_failure(DELIVER_ACTOR, _failed_for_good)
WEBHOOK_ACTORS = {DELIVER_ACTOR: deliver}
