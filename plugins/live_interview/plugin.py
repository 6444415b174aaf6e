"""live_interview: online video interviews in the browser, recorded as they happen (spec 4.1.1 (3)).

What it adds: the live room under /t/{tenant}/live_interview/{interview_id} (camera and
microphone check, WebRTC video between interviewer and interviewee, the question set with
timers and the evaluation form beside the video), a signalling WebSocket, the interviewee's
recording uploaded in one-second chunks through the interviews' resumable upload, its table
`live_interview_room_event` (who joined when, recording started and stopped, bytes), a link
to the room on the interview page, and the meters of interviews held and recorded minutes.
ICE servers (STUN/TURN) come from MENDAN_LIVE_ICE_SERVERS; none by default. Rooms reach across
web processes through the room bus (bus.py): Redis pub/sub when BROKER_URL is Redis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, PluginMeta
from plugins.live_interview.meters import INTERVIEWS_HELD, RECORDED_MINUTES

# Every `mendan` command loads this module: the routes and the room (PyAV, Litestar) wait for use.

META = PluginMeta(
    key="live_interview",
    name_ja="オンライン面談",
    name_en="Online interview",
    version="0.1.0",
    kind="basic",
    hours="interactive",
    meters=(
        Meter(INTERVIEWS_HELD, "interview", "オンライン面談の実施", "Online interviews held"),
        Meter(RECORDED_MINUTES, "minute", "オンライン面談の録画時間", "Online interview recorded minutes"),
    ),
    description_ja="面談者と被面談者がブラウザでビデオ面談を行い、被面談者の映像と音声を録画して送ります。",
    description_en="Interviewer and interviewee meet by video in the browser; the interviewee is recorded and "
                   "the recording is uploaded as it is made.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.live_interview import routes

    return routes.HANDLERS


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.live_interview.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_interview_entry(tenant: Any, interview: Any) -> str | None:
    """Personal links of a live interview lead, after consent, into its room."""
    if interview.kind != "live" or interview.state == "cancelled":
        return None
    return f"live_interview/{interview.id}"


@hookimpl
def mendan_interview_panels(tenant: Any, interview: Any) -> list[Any]:
    from core.interviews.api import Panel

    if interview.kind != "live" or interview.state == "cancelled":
        return []
    return [Panel(title_ja="オンライン面談", title_en="Online interview", template="live_interview/panel.html",
                  order=10)]


@hookimpl
async def mendan_recording_completed(tenant_id: Any, interview_id: Any, recording_id: Any) -> None:
    """Log what arrived and bill the recorded minutes of a live interview's segment."""
    import anyio.to_thread

    from core.interviews.api import Interview, Recording
    from core.runtime import runtime
    from core.tables import Tenant
    from core.tenancy import TenantScope
    from core.usage import record_usage
    from plugins.live_interview.room import billed_minutes, log_event, played_seconds

    scope = TenantScope(tenant_id)
    interview = await scope.get(Interview, interview_id)
    if interview.kind != "live":
        return
    rec = await scope.get(Recording, recording_id)
    store = runtime().storage
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    seconds = await anyio.to_thread.run_sync(played_seconds, store, store.tenant_key(tenant), rec.blob_key)
    await log_event(scope, interview, rec.uploaded_by, "segment_completed", recording_id=str(rec.id),
                    bytes=rec.size, seconds=round(seconds, 3))
    await record_usage(tenant_id, RECORDED_MINUTES, billed_minutes(seconds), act=str(rec.id))

