"""Rendering pages with the shared context: language, user, tenant, navigation, CSRF token."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from jinja2 import Environment
from litestar import MediaType, Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from core import job_texts
from core.auth.guards import STAFF_ROLES
from core.job_heartbeat import shown_state
from core.plugins import NavItem, PluginHost
from core.web import i18n
from core.web.flash import take_flash
from core.web.problem import problem, wants_html

log = structlog.get_logger("mendan.plugins")
CORE_TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
TOKYO = ZoneInfo("Asia/Tokyo")

CORE_NAV = (NavItem(path="", label_ja="ホーム", label_en="Home", order=0),)
# Only staff see the jobs (their routes are `requires_staff`); candidates see their own interviews.
STAFF_NAV = (NavItem(path="jobs", label_ja="ジョブ", label_en="Jobs", order=900),)


def tokyo_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (UTC, or any aware datetime) as the clock in Japan shows it: every time on a
    page is Japan time (`{{ row.created_at | tokyo }}`). Empty for None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # times are stored in UTC
    return moment.astimezone(TOKYO).strftime(fmt)


def template_config(plugin_template_dirs: list[str]) -> TemplateConfig:
    def setup(engine: JinjaTemplateEngine) -> None:
        env: Environment = engine.engine
        env.add_extension("jinja2.ext.i18n")
        env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)
        env.globals["languages"] = i18n.LANGUAGES
        env.globals["job_state"] = shown_state
        env.filters["tokyo"] = tokyo_time
        # A job's stored message and error, said in the reader's language (core.job_texts).
        env.globals["job_message"] = lambda stored: job_texts.message_text(stored or "", i18n.current_language.get())
        env.globals["job_failure"] = lambda error, unexpected=job_texts.UNEXPECTED: job_texts.failure_text(
            error or "", i18n.current_language.get(), unexpected)
        env.globals["job_detail"] = lambda error: job_texts.technical_detail(error or "")

    return TemplateConfig(
        directory=[CORE_TEMPLATES, *plugin_template_dirs],
        engine=JinjaTemplateEngine,
        engine_callback=setup,
    )


async def nav_items(request: Request, host: PluginHost, tenant: Any) -> list[dict[str, str]]:
    """The tenant's navigation bar; a plugin's unusable item is left out and logged (`plugin_nav_failed`)."""
    language = i18n.current_language.get()
    base = f"/t/{tenant.slug}/"
    core_items = (*CORE_NAV, *STAFF_NAV) if getattr(request.user, "role", None) in STAFF_ROLES else CORE_NAV
    items = [(item.order, item.path, item.label(language)) for item in core_items]  # the domains' links come through the hook, as the plugins' do
    for key, contributed in await host.call_for_tenant("mendan_nav_items", tenant=tenant, user=request.user):
        for item in contributed if isinstance(contributed, (list, tuple)) else [contributed]:
            try:
                if not isinstance(item, NavItem):
                    raise TypeError(f"not a NavItem: {item!r}")
                items.append((int(item.order), str(item.path), str(item.label(language))))
            except Exception as exc:
                log.error("plugin_nav_failed", plugin=key, error=repr(exc))
    path = request.url.path
    return [
        {"href": base + href, "label": label, "current": nav_current(base + href, path)}
        for _order, href, label in sorted(items, key=lambda i: i[0])
    ]


def nav_current(href: str, path: str) -> str | None:
    """The aria-current value of a navigation link: "page" for the page itself, "true" inside its section.

    Litestar hands over the request path without its trailing slash, the links keep theirs.
    """
    href, path = href.rstrip("/"), path.rstrip("/")
    if href == path:
        return "page"
    if path.startswith(href + "/") and href.count("/") > 2:  # the home link (/t/<slug>) is no section
        return "true"
    return None


async def enabled_plugins(request: Request, tenant: Any) -> frozenset[str]:
    """The tenant's enabled plugins (the host reads them once per request)."""
    return await request.app.state.plugin_host.enabled_keys(tenant.id)


def address_of(request: Request) -> str:
    """The address as the browser asked for it, query included, for links that come back here.

    `request.url.path` has lost the trailing slash; the server's raw path keeps it.
    """
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path  # some servers leave the query in
    query = request.url.query
    return f"{path}?{query}" if query else path


def plain_page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template | Response:
    """A page without the tenant navigation (which needs the database): for error answers.

    An error answer (status >= 400) to a client that is not a browser is problem JSON instead,
    its `detail` the page's `error` (or `detail`) text: one rule for every form that re-renders
    itself with a message."""
    if status_code >= 400 and not wants_html(request):
        return problem(status_code, str(context.get("error") or context.get("detail") or ""))
    shared = {
        "lang": i18n.current_language.get(),
        "user": request.scope.get("user"),
        "tenant": request.state.get("tenant"),
        "nav": [],
        "here": address_of(request),
        "flash": take_flash(request) if status_code < 400 else "",
    }
    # Always text/html: a POST handler's default media type is JSON, and a form re-rendered with an
    # error would otherwise reach the browser as "application/json" and show as source.
    return Template(template_name=template, context={**shared, **context}, status_code=status_code,
                    media_type=MediaType.HTML)


async def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template | Response:
    """A page with the layout context; an error (status >= 400) to an API client is problem JSON."""
    if status_code >= 400 and not wants_html(request):
        return plain_page(request, template, status_code, **context)
    tenant = request.state.get("tenant")
    nav = await nav_items(request, request.app.state.plugin_host, tenant) if tenant is not None else []
    return plain_page(request, template, status_code, **{"nav": nav, **context})
