"""REST API v1: a tenant's webhook endpoints (`/api/v1/t/{tenant}/webhooks`), their delivery log
and replays, for admins with an `admin` token; the same service functions as the pages
(core.webhooks.endpoints), audited alike (`webhooks.*`, detail `via: api`).

A signing secret is in the answer of a creation or a rotation only, marked `Cache-Control: no-store`
so that the idempotency store does not keep it (a repeat with the same key answers 409)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from core import audit
from core.auth.guards import requires_admin
from core.db.json_columns import json_value
from core.hours import service_guard
from core.rest.auth import requires_scope
from core.rest.etags import require_if_match, tagged
from core.rest.pagination import CreatedAfter, CreatedBefore, CursorParam, Limit, StateParam, created_between, \
    in_states, paginate
from core.rest.problems import ApiError, FieldError, problem_responses
from core.rest.routers import tenant_api_router
from core.tenancy import TenantScope
from core.text_input import NAME_LENGTH, SINGLE_LINE_PATTERN, TextProblem, clean_text, single_line
from core.web.i18n import gettext as _
from core.webhooks import endpoints
from core.webhooks.endpoints import EndpointProblem
from core.webhooks.events import EVENT_NAMES
from core.webhooks.tables import DELIVERY_STATES, WebhookAttempt, WebhookDelivery, WebhookEndpoint

ADMIN_READ = [requires_scope("admin"), requires_admin]
NO_STORE = {"Cache-Control": "no-store"}
EventName = Annotated[str, msgspec.Meta(max_length=64, pattern=SINGLE_LINE_PATTERN, description=", ".join(EVENT_NAMES),
                                        examples=["analysis.finished"])]


class Endpoint(msgspec.Struct):
    """A registered endpoint: its URL, the events it hears, whether it gets new deliveries."""

    id: UUID
    url: Annotated[str, msgspec.Meta(examples=["https://ats.example.jp/hooks/mendan"])]
    description: str
    events: list[EventName]
    active: bool
    created_at: datetime
    secret_rotated_at: datetime | None


class EndpointWithSecret(msgspec.Struct):
    """An endpoint and its signing secret, shown this once: keep it to verify signatures."""

    endpoint: Endpoint
    secret: Annotated[str, msgspec.Meta(description="`whsec_` + base64 of 32 random bytes",
                                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])]


class EndpointPage(msgspec.Struct):
    """One page of endpoints, oldest first; `next_cursor` is null on the last page."""

    items: list[Endpoint]
    next_cursor: str | None


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new endpoint: in production an `https` URL whose host resolves to public addresses only."""

    url: single_line(2000, examples=["https://ats.example.jp/hooks/mendan"])
    events: Annotated[list[EventName], msgspec.Meta(min_length=1, max_length=len(EVENT_NAMES))]
    description: single_line(NAME_LENGTH, examples=["採用管理システム"]) = ""


class EndpointChange(msgspec.Struct, forbid_unknown_fields=True):
    """Switch an endpoint off (it gets no new deliveries) or on again."""

    active: bool


class Attempt(msgspec.Struct):
    """One HTTP attempt: `status_code` null when nothing answered (`error` says why)."""

    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_excerpt: Annotated[str, msgspec.Meta(description="The answer's first 500 bytes")]
    replay: bool


class Delivery(msgspec.Struct):
    """One event for the endpoint: `message_id` is the `webhook-id` header; `state` pending, retrying,
    delivered or failed; `body` the exact JSON sent."""

    id: UUID
    message_id: str
    event_type: EventName
    state: str
    body: str
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[Attempt]


class DeliveryPage(msgspec.Struct):
    """One page of deliveries, oldest first; `next_cursor` is null on the last page."""

    items: list[Delivery]
    next_cursor: str | None


class ReplayQueued(msgspec.Struct):
    """The replay runs as a job: follow `job_url`."""

    job_id: UUID
    job_url: str


def endpoint_of(row: WebhookEndpoint) -> Endpoint:
    return Endpoint(id=row.id, url=row.url, description=row.description, events=list(json_value(row.events) or []),
                    active=row.active, created_at=row.created_at, secret_rotated_at=row.secret_rotated_at)


def _location(request: Request, endpoint_id: Any) -> str:
    return f"/api/v1/t/{request.path_params['tenant']}/webhooks/{endpoint_id}"


async def _audit(request: Request, scope: TenantScope, action: str, target: Any, **detail: Any) -> None:
    await audit.record(f"webhooks.{action}", tenant_id=scope.tenant_id, actor=request.user, target=str(target),
                       detail={**detail, "via": "api"}, ip=audit.client_ip(request))


@get("/webhooks", summary="List webhook endpoints", operation_id="listWebhookEndpoints",
     description="The tenant's webhook endpoints, oldest first, without their secrets. Admins; scope `admin`.",
     guards=ADMIN_READ, responses=problem_responses(403, 422))
async def list_endpoints(tenant_scope: NamedDependency[TenantScope], limit: Limit = 20, cursor: CursorParam = None,
                         created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> EndpointPage:
    query = created_between(tenant_scope.objects(WebhookEndpoint), WebhookEndpoint, created_after, created_before)
    rows, next_cursor = await paginate(query, WebhookEndpoint, limit=limit, cursor=cursor)
    return EndpointPage(items=[endpoint_of(r) for r in rows], next_cursor=next_cursor)


@post("/webhooks", summary="Register a webhook endpoint", operation_id="createWebhookEndpoint",
      description="Registers an endpoint for the chosen events; answers 201 with the endpoint, its `Location` and "
                  "its signing secret, which is never shown again (rotate to get a new one). A URL that is refused "
                  "(scheme, private or reserved address) answers 422 `invalid_endpoint` naming `url`. Send an "
                  "`Idempotency-Key`. Admins; scope `admin`.",
      guards=ADMIN_READ, responses=problem_responses(403, 422))
async def create_endpoint(request: Request, tenant_scope: NamedDependency[TenantScope],
                          data: JSONBody[EndpointIn]) -> Response[EndpointWithSecret]:
    unknown = [e for e in data.events if e not in EVENT_NAMES]
    if unknown:
        raise ApiError(422, errors=[FieldError("events", _("Choose one of: %(choices)s")
                                               % {"choices": ", ".join(EVENT_NAMES)})])
    try:
        description = clean_text(data.description, label=_("Description"))
    except TextProblem as exc:
        raise ApiError(422, errors=[FieldError("description", str(exc))]) from None
    try:
        row, secret = await endpoints.register(tenant_scope, url=data.url, description=description,
                                               events=data.events, production=request.app.state.settings.is_production,
                                               user=request.user)
    except EndpointProblem as exc:
        raise ApiError(422, "invalid_endpoint", str(exc), errors=[FieldError("url", str(exc))]) from None
    await _audit(request, tenant_scope, "created", row.id, url=row.url, events=data.events)
    return Response(EndpointWithSecret(endpoint=endpoint_of(row), secret=secret), status_code=201,
                    headers={**NO_STORE, "Location": _location(request, row.id)})


@get("/webhooks/{endpoint_id:uuid}", summary="Read a webhook endpoint", operation_id="getWebhookEndpoint",
     description="One endpoint, without its secret, with its `ETag`. Admins; scope `admin`.",
     guards=ADMIN_READ, responses=problem_responses(403))
async def get_endpoint(request: Request, tenant_scope: NamedDependency[TenantScope],
                       endpoint_id: FromPath[UUID]) -> Response[Endpoint]:
    return tagged(request, endpoint_of(await tenant_scope.get(WebhookEndpoint, endpoint_id)))


@patch("/webhooks/{endpoint_id:uuid}", summary="Switch a webhook endpoint on or off",
       operation_id="changeWebhookEndpoint",
       description="`active: false` stops new deliveries (those stored keep their retries); `true` resumes. Needs "
                   "`If-Match`. Admins; scope `admin`.",
       guards=ADMIN_READ, responses=problem_responses(403, 412, 422, 428))
async def change_endpoint(request: Request, tenant_scope: NamedDependency[TenantScope], endpoint_id: FromPath[UUID],
                          data: JSONBody[EndpointChange]) -> Response[Endpoint]:
    row = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    require_if_match(request, endpoint_of(row))
    if data.active != row.active:
        await endpoints.set_active(tenant_scope, row, data.active)
        await _audit(request, tenant_scope, "enabled" if data.active else "disabled", row.id)
    return tagged(request, endpoint_of(await tenant_scope.get(WebhookEndpoint, endpoint_id)))


@delete("/webhooks/{endpoint_id:uuid}", summary="Delete a webhook endpoint", operation_id="deleteWebhookEndpoint",
        description="Deletes the endpoint with its delivery log. Needs `If-Match` (428 without, 412 when it changed "
                    "meanwhile). Admins; scope `admin`.",
        guards=ADMIN_READ, responses=problem_responses(403, 412, 428), status_code=204)
async def delete_endpoint(request: Request, tenant_scope: NamedDependency[TenantScope],
                          endpoint_id: FromPath[UUID]) -> None:
    row = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    require_if_match(request, endpoint_of(row))
    await endpoints.delete(tenant_scope, row)
    await _audit(request, tenant_scope, "deleted", row.id, url=row.url)


@post("/webhooks/{endpoint_id:uuid}/rotate", summary="Make a new signing secret", operation_id="rotateWebhookSecret",
      description="A new signing secret, answered this once; from now on only it signs (also retries and replays). "
                  "Admins; scope `admin`.",
      guards=ADMIN_READ, responses=problem_responses(403), status_code=200)
async def rotate_secret(request: Request, tenant_scope: NamedDependency[TenantScope],
                        endpoint_id: FromPath[UUID]) -> Response[EndpointWithSecret]:
    row = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    secret = await endpoints.rotate_secret(tenant_scope, row)
    await _audit(request, tenant_scope, "secret_rotated", row.id)
    fresh = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    return Response(EndpointWithSecret(endpoint=endpoint_of(fresh), secret=secret), headers=NO_STORE)


def delivery_of(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> Delivery:
    return Delivery(id=row.id, message_id=row.message_id, event_type=row.event_type, state=row.state, body=row.body,
                    created_at=row.created_at, delivered_at=row.delivered_at,
                    attempts=[Attempt(started_at=a.started_at, duration_ms=a.duration_ms, status_code=a.status_code,
                                      error=a.error, response_excerpt=a.response_excerpt, replay=a.replay)
                              for a in attempts])


@get("/webhooks/{endpoint_id:uuid}/deliveries", summary="List an endpoint's deliveries",
     operation_id="listWebhookDeliveries",
     description="The endpoint's deliveries, oldest first, each with its body and every attempt (time, HTTP status "
                 "or error, duration, the answer's start); filter by `state` (pending, retrying, delivered, failed) "
                 "and creation time. Admins; scope `admin`.",
     guards=ADMIN_READ, responses=problem_responses(403, 422))
async def list_deliveries(tenant_scope: NamedDependency[TenantScope], endpoint_id: FromPath[UUID], limit: Limit = 20,
                          cursor: CursorParam = None, state_filter: StateParam = None,
                          created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> DeliveryPage:
    row = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    query = tenant_scope.objects(WebhookDelivery).where(WebhookDelivery.endpoint == row.id)
    query = created_between(in_states(query, WebhookDelivery.state, state_filter, DELIVERY_STATES), WebhookDelivery,
                            created_after, created_before)
    rows, next_cursor = await paginate(query, WebhookDelivery, limit=limit, cursor=cursor)
    attempts: dict[Any, list[WebhookAttempt]] = {r.id: [] for r in rows}
    if rows:
        for attempt in await tenant_scope.objects(WebhookAttempt).where(
                WebhookAttempt.delivery.is_in(list(attempts))).order_by(WebhookAttempt.started_at):
            attempts[attempt.delivery].append(attempt)
    return DeliveryPage(items=[delivery_of(r, attempts[r.id]) for r in rows], next_cursor=next_cursor)


@post("/webhooks/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/replay", summary="Send a delivery again",
      operation_id="replayWebhookDelivery",
      description="Sends the delivery once more as it was (same body and `webhook-id`, signed anew) as a job: 202 "
                  "with `job_id` and `job_url`. Admins; scope `admin`.",
      guards=ADMIN_READ, responses=problem_responses(403), status_code=202)
async def replay_delivery(request: Request, tenant_scope: NamedDependency[TenantScope], endpoint_id: FromPath[UUID],
                          delivery_id: FromPath[UUID]) -> ReplayQueued:
    row = await tenant_scope.get(WebhookEndpoint, endpoint_id)
    delivery = await tenant_scope.get(WebhookDelivery, delivery_id)
    if delivery.endpoint != row.id:
        raise NotFoundException()
    job_id = await endpoints.replay(tenant_scope, delivery)
    await _audit(request, tenant_scope, "replayed", delivery.id, message_id=delivery.message_id, job=str(job_id))
    return ReplayQueued(job_id=job_id, job_url=f"/api/v1/t/{request.path_params['tenant']}/jobs/{job_id}")


API_HANDLERS = [list_endpoints, create_endpoint, get_endpoint, change_endpoint, delete_endpoint, rotate_secret,
                list_deliveries, replay_delivery]


def webhooks_api_router() -> Router:
    """Within the tenant's service hours, like the webhook pages."""
    return tenant_api_router(API_HANDLERS, tags=["webhooks"], guards=[service_guard("interactive")])
