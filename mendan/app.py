"""The one place that assembles the Litestar app: settings, database, domains, plugins,
jobs, storage, middleware, pages and every plugin's routes."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from core import __version__
from core.auth.guards import requires_operator
from core.auth.middleware import TokenAwareCSRFMiddleware, UserAuthenticationMiddleware
from core.auth.routes import auth_router
from core.auth.session_store import DatabaseStore
from core.auth.sessions import RenewingSessionConfig
from core.auth.throttle import Throttles
from core.config import Settings, use_settings
from billing.routes import TEMPLATES as BILLING_TEMPLATES, billing_routers
from billing.shipping import start_billing_clock, stop_billing_clock
from core.interviews.attributes.routes import ATTRIBUTE_TEMPLATES, attributes_router
from core.db.engine import bind_engine, close_loop_pool, make_engine, start_loop_pool
from core.health import MetricsController, healthz, prometheus_config, readyz
from core.hours import ServiceClosed, service_closed_answer, service_guard
from core.interviews.routes import INTERVIEW_TEMPLATES, interviews_routers, start_reminders, stop_reminders
from core.interviews.upload_expiry import start_upload_sweep, stop_upload_sweep
from core.log_config import configure_logging
from core.plugins import PluginHost
from core.rest.jobs import jobs_api_router
from core.rest.rate_limit import ApiRateLimiter, ApiRateLimitMiddleware, add_rate_limit_headers
from core.rest.routers import tenant_api_router
from core.runtime import Runtime, set_runtime
from core.schedules import start_scheduled_jobs, stop_scheduled_jobs
from core.sweeper import start_sweeper, stop_sweeper
from core.storage import BlobStore
from core.tasks import TaskQueue
from core.tenancy import provide_scope, provide_tenant, resolve_tenant, tenant_guard
from core.web.errors import EXCEPTION_HANDLERS, NotInContract
from core.web.i18n import current_language
from core.web.idempotency import IdempotencyMiddleware
from core.web.internal_endpoints import InternalEndpointsMiddleware
from core.web.middleware import RequestContextMiddleware
from core.web.pages import pages_router
from core.web.rendering import STATIC_DIR, enabled_plugins, template_config
from core.web.security_headers import security_headers
from core.web.text_guard import refuse_control_characters
from core.webhooks.rest import webhooks_api_router
from core.webhooks.routes import WEBHOOK_TEMPLATES, webhooks_router
from tenants.console import TEMPLATES as TENANT_TEMPLATES, ops_router
from tenants.services import services_router
from tenants.hours import ContractCalendar
from tenants.retention import start_daily_purge, stop_daily_purge
from mendan.actor_table import actor_table
from mendan.assembly import assemble

UNAUTHENTICATED_PATHS = ["^/static/", "^/healthz$", "^/readyz$", "^/metrics$"]
# The API signs in by token only: it neither reads nor stores sessions.
SESSIONLESS_PATHS = [*UNAUTHENTICATED_PATHS, "^/api/"]


def plugin_guard(key: str):
    """404 with a clear message when the tenant's contract does not include the plugin."""

    async def guard(connection: ASGIConnection, _handler: Any) -> None:
        tenant = await resolve_tenant(connection)
        if key not in await enabled_plugins(connection, tenant):
            meta = connection.app.state.plugin_host.metas[key]
            raise NotInContract(meta.name(current_language.get()))

    guard.__name__ = f"plugin_guard_{key}"
    return guard


def plugin_routers(host: PluginHost) -> list[Router]:
    return [
        Router(
            path=f"/t/{{tenant:str}}/{key}",
            route_handlers=handlers,
            guards=[tenant_guard, plugin_guard(key), service_guard(host.metas[key].hours)],
            tags=[key],
        )
        for key, handlers in host.route_handlers().items()
    ]


def plugin_api_routers(host: PluginHost) -> list[Router]:
    """The plugins' API endpoints under /api/v1/t/{tenant}/{key}/: token, tenant, contract (404
    when the tenant has not enabled the plugin) and service hours, as their pages."""
    return [
        tenant_api_router(handlers, path=f"/{key}", tags=[key],
                          guards=[plugin_guard(key), service_guard(host.metas[key].hours)])
        for key, handlers in host.api_route_handlers().items()
    ]


def ops_plugin_routers(host: PluginHost) -> list[Router]:
    """The plugins' operator pages under /ops/{key}/, operators only."""
    return [
        Router(path=f"/ops/{key}", route_handlers=handlers, guards=[requires_operator], include_in_schema=False)
        for key, handlers in host.ops_route_handlers().items()
    ]


def create_app(settings: Settings | None = None, host: PluginHost | None = None) -> Litestar:
    settings = use_settings(settings or Settings.from_env())
    configure_logging(settings.is_production)
    host = assemble(host)
    engine = bind_engine(make_engine(settings))
    tasks = TaskQueue(settings, actor_table(host))
    storage = BlobStore.from_settings(settings)
    set_runtime(Runtime(settings=settings, host=host, storage=storage, tasks=tasks))

    session_config = RenewingSessionConfig(
        max_age=settings.session_days * 86400, secure=settings.is_production, exclude=SESSIONLESS_PATHS
    )
    csrf_config = CSRFConfig(secret=settings.session_secret, cookie_secure=settings.is_production)

    async def start_embedded_jobs(_app: Litestar) -> None:
        if tasks.embedded:
            await tasks.requeue_unfinished()
            tasks.start_embedded_worker()

    def stop_jobs(_app: Litestar) -> None:
        tasks.stop()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            MetricsController,
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
            auth_router(settings),
            pages_router(),
            jobs_api_router(),
            *interviews_routers(),
            attributes_router(),
            webhooks_router(),
            webhooks_api_router(),
            ops_router(),
            services_router(),
            *billing_routers(),
            *plugin_routers(host),
            *plugin_api_routers(host),
            *ops_plugin_routers(host),
        ],
        middleware=[
            prometheus_config.middleware,
            session_config.middleware,
            DefineMiddleware(TokenAwareCSRFMiddleware, config=csrf_config),
            DefineMiddleware(UserAuthenticationMiddleware, exclude=UNAUTHENTICATED_PATHS),
            DefineMiddleware(InternalEndpointsMiddleware, settings=settings),
            RequestContextMiddleware,
            ApiRateLimitMiddleware,
            IdempotencyMiddleware,
        ],
        stores={"sessions": DatabaseStore("session"), "rate_limit": DatabaseStore("rate_limit")},
        dependencies={"tenant_scope": Provide(provide_scope), "tenant_row": Provide(provide_tenant)},
        # The domains' folders come before the plugins', so no plugin can shadow a domain's page.
        template_config=template_config([str(TENANT_TEMPLATES), str(INTERVIEW_TEMPLATES), str(BILLING_TEMPLATES),
                                         str(ATTRIBUTE_TEMPLATES), str(WEBHOOK_TEMPLATES), *host.template_dirs()]),
        exception_handlers={**EXCEPTION_HANDLERS, ServiceClosed: service_closed_answer},
        state=State({"settings": settings, "plugin_host": host, "tasks": tasks, "storage": storage,
                     "throttles": Throttles(settings), "service_calendar": ContractCalendar(),
                     "api_rate_limiter": ApiRateLimiter.from_settings(settings)}),
        before_request=refuse_control_characters,
        before_send=[add_rate_limit_headers, security_headers(settings)],
        # The loop's database pool first and closed last: the other steps use the database.
        on_startup=[partial(start_loop_pool, engine), start_embedded_jobs, start_sweeper, start_daily_purge,
                    start_reminders, start_billing_clock, start_scheduled_jobs, start_upload_sweep],
        on_shutdown=[stop_sweeper, stop_jobs, stop_daily_purge, stop_reminders, stop_billing_clock,
                     stop_scheduled_jobs, stop_upload_sweep, partial(close_loop_pool, engine)],
        openapi_config=OpenAPIConfig(title="mendan", version=__version__, path="/schema"),
        # configure_logging owns `logging`: Litestar's default config would add a handler of its own
        # (records outside the JSON log) and start a queue-listener thread per app that never stops.
        logging_config=None,
        debug=False,
    )
