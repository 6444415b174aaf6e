"""Slots on the interview result page that plugins fill through `mendan_interview_panels`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from core.web.i18n import current_language


@dataclass(frozen=True)
class Panel:
    """`html` is a trusted fragment made by the plugin (escape what you put in it);
    or `template`, a template name rendered with `tenant` and `interview`."""

    title_ja: str
    title_en: str
    html: str = ""
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)  # more variables for `template`
    order: int = 100

    def title(self) -> str:
        return self.title_ja if current_language.get() == "ja" else self.title_en


async def panels_for(request: Any, tenant: Any, interview: Any) -> list[dict[str, Any]]:
    host = request.app.state.plugin_host
    enabled = await host.enabled_keys(tenant.id)
    found: list[Panel] = []
    for _key, contributed in await host.call_for_tenant("mendan_interview_panels", enabled=enabled,
                                                         tenant=tenant, interview=interview):
        found.extend(p for p in contributed if isinstance(p, Panel))
    engine = request.app.template_engine
    token = ScopeState.from_scope(request.scope).csrf_token or ""
    csrf_input = Markup('<input type="hidden" name="_csrf_token" value="{}">').format(token)
    out = []
    for panel in sorted(found, key=lambda p: p.order):
        if panel.template:
            body = engine.get_template(panel.template).render(
                tenant=tenant, interview=interview, user=request.user, csrf_input=csrf_input, **panel.context)
        else:
            body = panel.html
        out.append({"title": panel.title(), "html": Markup(body)})
    return out
