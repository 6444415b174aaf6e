"""self_interview: the interviewee talks to an avatar that asks the questions (spec 4.1.1 (6)).

What it adds: the interviewee's page under /t/{tenant}/self_interview/{interview_id} (camera and
microphone check, a practice question, then per question the avatar reading it aloud with
subtitles, thinking time, recording with a countdown, retakes; each answer its own recording
through the interviews' resumable upload), follow-up questions generated from the answers and
asked by the avatar, the interviewer's review page question by question, the admin's
accommodations page (more time, more retakes; audited), its tables (generated questions,
accommodations, finished interviews), a panel on the interview page, and the meters of
self-interviews completed and follow-up questions generated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, NavItem, PluginMeta
from plugins.self_interview.meters import COMPLETED, FOLLOW_UPS
from plugins.self_interview.settings import SelfInterviewSettings

# Every `mendan` command loads this module: routes, speech synthesis, voices and follow-ups wait for use.

META = PluginMeta(
    key="self_interview",
    name_ja="セルフ面談",
    name_en="Self-interview",
    version="0.1.0",
    kind="basic",
    hours="interactive",
    meters=(
        Meter(COMPLETED, "interview", "セルフ面談の実施", "Self-interviews completed"),
        Meter(FOLLOW_UPS, "question", "生成した追加質問", "Generated follow-up questions"),
    ),
    description_ja="アバターが質問を読み上げ、被面談者の回答を質問ごとに録画し、回答から追加質問を生成します。",
    description_en="An avatar reads the questions aloud, each answer is recorded on its own, and follow-up "
                   "questions are generated from the answers.",
    settings=SelfInterviewSettings,
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.self_interview import routes

    return routes.HANDLERS


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.self_interview.piccolo_app", "plugins.self_interview.voice_piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    if user is None or user.role != "admin":
        return []
    return [NavItem(path="self_interview/accommodations", label_ja="配慮設定", label_en="Accommodations", order=450)]


@hookimpl
def mendan_interview_entry(tenant: Any, interview: Any) -> str | None:
    """Personal links of a self-interview lead, after consent, to the avatar's page."""
    if interview.kind != "self" or interview.state == "cancelled":
        return None
    return f"self_interview/{interview.id}"


@hookimpl
def mendan_interview_panels(tenant: Any, interview: Any) -> list[Any]:
    from core.interviews.api import Panel

    if interview.kind != "self" or interview.state == "cancelled":
        return []
    return [Panel(title_ja="セルフ面談", title_en="Self-interview", template="self_interview/panel.html", order=10)]


@hookimpl
async def mendan_recording_completed(tenant_id: Any, interview_id: Any, recording_id: Any) -> None:
    """A retake replaces the earlier takes of its question: only the newest feeds analysis,
    transcripts and models (the earlier stay stored, and the review page counts them)."""
    from core.interviews.api import Interview, Recording, supersede_earlier_takes
    from core.tenancy import TenantScope

    scope = TenantScope(tenant_id)
    interview = await scope.get(Interview, interview_id)
    recording = await scope.get(Recording, recording_id)
    if interview.kind == "self" and recording.question_key is not None:
        await supersede_earlier_takes(scope, recording_id)


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.self_interview.voices import render_voices

    return {"render_voices": render_voices}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"render_voices": ("質問音声の作成", "Making the question voices")}


@hookimpl
async def mendan_question_set_saved(tenant_id: Any, version_id: Any) -> None:
    """Render the avatar's voice of each question when the set is saved, in a job."""
    from plugins.self_interview.voices import queue_voices

    await queue_voices(tenant_id, version_id)
