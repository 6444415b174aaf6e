"""Slots on the interview result page that plugins fill through `mendan_interview_panels`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from core.web.i18n import current_language
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.plugins")


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
    # The panel shows scores (the AI's, or people's): an expert who has not saved their own
    # evaluation gets a note in its place (`may_see_scores`: experts score blind).
    scores: bool = False

    def title(self) -> str:
        return self.title_ja if current_language.get() == "ja" else self.title_en


async def panels_for(request: Any, tenant: Any, interview: Any, *, scores_hidden: bool = False
                     ) -> list[dict[str, Any]]:
    """The panels of the tenant's enabled plugins, rendered; with `scores_hidden`, a panel that
    shows scores holds a note that they appear after the viewer's evaluation instead. A panel
    that is not a `Panel`, or whose template fails, is left out and logged as
    `plugin_panel_failed`: the page itself never fails."""
    host = request.app.state.plugin_host
    found: list[tuple[str, Panel]] = []
    for key, contributed in await host.call_for_tenant("mendan_interview_panels", tenant=tenant, interview=interview):
        for panel in contributed if isinstance(contributed, (list, tuple)) else [contributed]:
            if isinstance(panel, Panel):
                found.append((key, panel))
            else:
                log.error("plugin_panel_failed", plugin=key, error=f"not a Panel: {panel!r}")
    engine = request.app.template_engine
    token = ScopeState.from_scope(request.scope).csrf_token or ""
    csrf_input = Markup('<input type="hidden" name="_csrf_token" value="{}">').format(token)
    out = []
    for key, panel in sorted(found, key=lambda kp: kp[1].order):
        try:
            if panel.scores and scores_hidden:
                body = Markup('<p class="notice blind">{}</p>').format(
                    _("Other evaluations and the AI's scores appear here once you have saved your own evaluation."))
            elif panel.template:
                body = engine.get_template(panel.template).render(
                    tenant=tenant, interview=interview, user=request.user, csrf_input=csrf_input, **panel.context)
            else:
                body = panel.html
            out.append({"title": panel.title(), "html": Markup(body)})
        except Exception as exc:
            log.exception("plugin_panel_failed", plugin=key, template=panel.template, error=repr(exc))
    return out
