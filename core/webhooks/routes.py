"""The tenant admin's webhook pages, /t/{tenant}/webhooks/: endpoints, their secrets (shown once),
the delivery log with its attempts, and replays. Every change is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.db.json_columns import json_value
from core.hours import service_guard
from core.interviews.web_forms import PAGE_SIZE, Form, many, page_window, text
from core.tenancy import TenantScope, tenant_guard
from core.web.rendering import page
from core.webhooks import endpoints
from core.webhooks.endpoints import EndpointProblem
from core.webhooks.events import EVENT_TYPES
from core.webhooks.tables import WebhookDelivery, WebhookEndpoint
from core.rest.pagination import PageNumber

WEBHOOK_TEMPLATES = Path(__file__).parent / "templates"


async def _index(request: Request, scope: TenantScope, status_code: int = 200, **extra: Any) -> Template:
    rows = await scope.objects(WebhookEndpoint).order_by(WebhookEndpoint.created_at, ascending=False)
    return await page(request, "webhooks/index.html", status_code=status_code, endpoints=rows,
                      event_types=EVENT_TYPES, events_of=lambda e: json_value(e.events) or [],
                      deleted=request.query_params.get("deleted"), **{"error": None, "form": {}, **extra})


def _base(request: Request) -> str:
    return f"/t/{request.path_params['tenant']}/webhooks"


async def _audit(request: Request, scope: TenantScope, action: str, target: Any, **detail: Any) -> None:
    await audit.record(f"webhooks.{action}", tenant_id=scope.tenant_id, actor=request.user, target=str(target),
                       detail=detail, ip=audit.client_ip(request))


class WebhookController(Controller):
    path = "/webhooks"
    guards = [requires_admin]

    @get("/")
    async def index(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await _index(request, tenant_scope)

    @post("/", media_type=MediaType.HTML)
    async def register(self, request: Request, tenant_scope: NamedDependency[TenantScope], data: Form) -> Any:
        form = {"url": text(data, "url"), "description": text(data, "description"), "events": many(data, "events")}
        try:
            endpoint, secret = await endpoints.register(
                tenant_scope, url=form["url"], description=form["description"], events=form["events"],
                production=request.app.state.settings.is_production, user=request.user)
        except EndpointProblem as exc:
            return await _index(request, tenant_scope, status_code=400, error=str(exc), form=form)
        await _audit(request, tenant_scope, "created", endpoint.id, url=endpoint.url, events=form["events"])
        return await page(request, "webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=False)

    @get("/{endpoint_id:uuid}")
    async def endpoint(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                       endpoint_id: FromPath[UUID], page_number: PageNumber = 1) -> Template:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        limit, offset = page_window(page_number)
        rows = await endpoints.deliveries_page(tenant_scope, endpoint, limit=limit, offset=offset)
        return await page(request, "webhooks/endpoint.html", endpoint=endpoint, deliveries=rows[:PAGE_SIZE],
                          page_number=max(1, page_number), has_next=len(rows) > PAGE_SIZE,
                          event_types=EVENT_TYPES, events=json_value(endpoint.events) or [],
                          replayed=request.query_params.get("replayed"))

    @post("/{endpoint_id:uuid}/active", media_type=MediaType.HTML)
    async def set_active(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                         endpoint_id: FromPath[UUID], data: Form) -> Redirect:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        active = text(data, "active") == "on"
        await endpoints.set_active(tenant_scope, endpoint, active)
        await _audit(request, tenant_scope, "enabled" if active else "disabled", endpoint.id)
        return Redirect(f"{_base(request)}/{endpoint.id}")

    @post("/{endpoint_id:uuid}/rotate", media_type=MediaType.HTML)
    async def rotate(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     endpoint_id: FromPath[UUID]) -> Template:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        secret = await endpoints.rotate_secret(tenant_scope, endpoint)
        await _audit(request, tenant_scope, "secret_rotated", endpoint.id)
        return await page(request, "webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=True)

    @get("/{endpoint_id:uuid}/delete")
    async def confirm_delete(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                             endpoint_id: FromPath[UUID]) -> Template:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        deliveries = await tenant_scope.count(WebhookDelivery).where(WebhookDelivery.endpoint == endpoint.id)
        return await page(request, "webhooks/delete.html", endpoint=endpoint, deliveries=deliveries)

    @post("/{endpoint_id:uuid}/delete", media_type=MediaType.HTML)
    async def delete(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     endpoint_id: FromPath[UUID]) -> Redirect:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        await endpoints.delete(tenant_scope, endpoint)
        await _audit(request, tenant_scope, "deleted", endpoint.id, url=endpoint.url)
        return Redirect(f"{_base(request)}/?deleted=1")

    @post("/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/replay", media_type=MediaType.HTML)
    async def replay(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     endpoint_id: FromPath[UUID], delivery_id: FromPath[UUID]) -> Redirect:
        endpoint = await tenant_scope.get(WebhookEndpoint, endpoint_id)
        delivery = await tenant_scope.get(WebhookDelivery, delivery_id)
        if delivery.endpoint != endpoint.id:
            raise NotFoundException()
        job_id = await endpoints.replay(tenant_scope, delivery)
        await _audit(request, tenant_scope, "replayed", delivery.id, message_id=delivery.message_id, job=str(job_id))
        return Redirect(f"{_base(request)}/{endpoint.id}?replayed=1")


def webhooks_router() -> Router:
    return Router(path="/t/{tenant:str}", route_handlers=[WebhookController],
                  guards=[tenant_guard, service_guard("interactive")], tags=["webhooks"], include_in_schema=False)
