"""summary: Japanese and English summaries of each answer and of the whole interview (a basic service).

Adds
- extractive summaries (sumy LexRank with a fugashi / regular-expression tokeniser, figures kept,
  ./extractive.py), each sentence linked to the second it was said (./summaries.py);
- an optional OpenAI-compatible chat-completions provider per tenant, falling back to the
  extractive summary on a timeout or failure (./abstractive.py, settings in ./settings.py);
- the hook `mendan_summariser` for other providers (asked first);
- each interview's summary stored once made (encrypted blob `summary/{interview}.json`), made again
  when a transcript changes (./summaries.py `interview_summary`);
- meter `summary.interviews`, once per summarised interview;
- a panel on the interview result page whose script loads the summary (./routes.py,
  ./static/summary.js); each sentence's time plays the page's recording player from there.
- the same summary, read-only, in the REST API v1 under /api/v1/t/{tenant}/summary/ (./api.py).
Follows the tenant's service hours (interactive), like the result screen that shows it: the
summary's route is behind the host's interactive service guard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, PluginMeta
from plugins.summary.settings import SummarySettings

INTERVIEWS = "summary.interviews"


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="summary",
        name_ja="面談の要約",
        name_en="Interview summary",
        version="1.0.0",
        kind="basic",
        hours="interactive",
        meters=(Meter(INTERVIEWS, "interview", "要約した面談", "Summarised interviews"),),
        description_ja="被面談者の回答を回答ごと・面談全体で要約し、各文から発言の場面を再生できます。",
        description_en="Summarises the interviewee's answers, each and overall; every sentence plays the moment "
        "it was said.",
        settings=SummarySettings,
    )


@hookimpl
def mendan_route_handlers() -> list:
    from plugins.summary.routes import HANDLERS

    return HANDLERS


@hookimpl
def mendan_api_route_handlers() -> list:
    from plugins.summary.api import API_HANDLERS

    return API_HANDLERS


@hookimpl
def mendan_template_dirs() -> list:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_interview_panels(tenant: Any, interview: Any) -> list:
    from core.interviews.api import Panel

    if interview.state == "cancelled":
        return []
    return [Panel(title_ja="面談の要約", title_en="Interview summary", template="summary/panel.html", order=45)]
