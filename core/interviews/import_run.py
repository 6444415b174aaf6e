"""A bulk import of past interviews from start to end (issue 18): the CSV and its videos are kept
(staged) in the tenant's encrypted blob store under `imports/<import id>/` (each video an
ImportVideo, sent through the resumable upload of core.interviews.uploads, or from a folder by
the command), checked again at
confirmation (core.interviews.import_check), then the job `core.import_interviews` makes the
interviewees (no mail, no password, no link), their consent records with the admin's declared
source, the interviews (held on the CSV's date, finished, marked imported), their recordings and
the experts' evaluations, and starts the analysis as after an upload.

Nothing is half-imported: the recordings' videos are written first (removed again on any
failure), then every row in one write transaction, which also moves the import to `done`, so a
job that runs twice (a worker died after the commit) finds it done and imports nothing again.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

import anyio.to_thread
import structlog

from core import audit
from core.consent import current_consent, record_consent
from core.db.constraints import write_transaction
from core.db.json_columns import json_value
from core.db.tables import Tenant, User
from core.interviews.evaluations import save_evaluation
from core.interviews.import_check import PLACEHOLDER_DOMAIN, ImportCheck, ImportRow, check_import, video_names
from core.interviews.people import create_person
from core.interviews.probe import NotAVideo, VideoInfo, probe
from core.interviews.schedule import advance, schedule_interview
from core.interviews.tables import ImportVideo, Interview, InterviewImport, Recording
from core.interviews.completion import announce, record_completion
from core.interviews.uploads import add_stored_recording, assemble, check_announced, drop_parts, parts_of, \
    recording_key
from core.runtime import runtime
from core.storage import BlobStore, TenantKey
from core.job_texts import job_text
from core.tasks import JobRefused, on_final_failure, report_progress
from core.tenancy import TenantScope
from core.web.i18n import N_, gettext as _

log = structlog.get_logger("mendan.imports")

CONSENT_PURPOSES = ("recording", "training")
DURATION_MINUTES = 60  # an imported interview's slot: the CSV gives its date, not its length


class ImportProblem(ValueError):
    """The import cannot go on like this; the message is for the admin."""


def _source_key(import_id: Any) -> str:
    return f"imports/{import_id}/source.csv"


def _video_key(import_id: Any, video_id: Any) -> str:
    """Where a staged video lies: named by its upload, since file names may hold any character."""
    return f"imports/{import_id}/videos/{video_id}"


async def _tenant_key(scope: TenantScope) -> TenantKey:
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    return runtime().storage.tenant_key(tenant)


async def create_import(scope: TenantScope, *, data: bytes, filename: str, consent_source: str,
                        created_by: Any) -> InterviewImport:
    """Keep a CSV (its bytes, encrypted) as a new import waiting for its videos and confirmation.

    `consent_source` says how consent to recording and training was obtained (required: the
    admin declares it); raises ImportProblem without one."""
    consent_source = " ".join(consent_source.split())[:1000]
    if not consent_source:
        raise ImportProblem(_("Declare that consent to recording and to training the AI model was obtained, "
                              "and say how (the consent source)."))
    imp = InterviewImport(id=uuid4(), created_by=getattr(created_by, "id", created_by), filename=filename[-255:],
                          consent_source=consent_source)
    tk = await _tenant_key(scope)
    await anyio.to_thread.run_sync(_write, runtime().storage, tk, _source_key(imp.id), data)
    return await scope.add(imp)


def _write(store: BlobStore, tk: TenantKey, key: str, data: bytes) -> None:
    with store.writer(tk, key) as out:
        out.write(data)


def _read(store: BlobStore, tk: TenantKey, key: str) -> bytes:
    return b"".join(store.read(tk, key))


async def staged_videos(scope: TenantScope, imp: InterviewImport) -> dict[str, str]:
    """The import's videos in place: file name (as the CSV spells it) -> blob key."""
    rows = await scope.objects(ImportVideo).where(
        (ImportVideo.interview_import == imp.id) & (ImportVideo.state == "complete")).order_by(ImportVideo.created_at)
    return {row.name: row.blob_key for row in rows}


async def video_states(scope: TenantScope, imp: InterviewImport) -> dict[str, ImportVideo]:
    """Each video's upload as the import's page shows it, by file name: the complete one, else the
    latest attempt (uploading: it can be resumed; refused: its `error` says why)."""
    rows = await scope.objects(ImportVideo).where(ImportVideo.interview_import == imp.id).order_by(
        ImportVideo.created_at)
    shown: dict[str, ImportVideo] = {}
    for row in rows:
        if row.name not in shown or shown[row.name].state != "complete" or row.state == "complete":
            shown[row.name] = row
    return shown


def _unconfirmed(imp: InterviewImport) -> None:
    if imp.state != "checked":
        raise ImportProblem(_("This import has already been confirmed."))


async def _keep_video(scope: TenantScope, store: BlobStore, tk: TenantKey, video: ImportVideo) -> None:
    """`video` is complete: it replaces the videos of the same name whose upload started before
    (only those: two finishing at once never remove each other; the latest started is in place)."""
    earlier = await scope.objects(ImportVideo).where(
        (ImportVideo.interview_import == video.interview_import) & (ImportVideo.name == video.name)
        & (ImportVideo.created_at < video.created_at) & (ImportVideo.state == "complete"))
    for row in earlier:
        store.delete(tk, row.blob_key)
    if earlier:
        await scope.delete(ImportVideo).where(ImportVideo.id.is_in([row.id for row in earlier]))


async def stage_video(scope: TenantScope, imp: InterviewImport, name: str, source: Path) -> ImportVideo:
    """Keep one video of the import from a file (the command `mendan import-interviews`, which
    checked it); it replaces a video of the same name staged before."""
    _unconfirmed(imp)
    store, tk, video_id = runtime().storage, await _tenant_key(scope), uuid4()
    key = _video_key(imp.id, video_id)
    await anyio.to_thread.run_sync(store.write_file, tk, key, source)
    video = await scope.add(ImportVideo(id=video_id, interview_import=imp.id, name=name, size=source.stat().st_size,
                                        upload_offset=source.stat().st_size, sha256="", state="complete",
                                        blob_key=key))
    await _keep_video(scope, store, tk, video)
    return video


async def start_video_upload(scope: TenantScope, imp: InterviewImport, *, name: str, size: int | None,
                             sha256: str, max_bytes: int) -> ImportVideo:
    """A resumable upload (tus creation, core.interviews.uploads) of one of the import's videos:
    `name` must be a file the CSV's `video` column names (compared in Unicode NFC: a Mac spells
    Japanese names decomposed), `size` in bytes up to `max_bytes`, `sha256` the whole file's (hex).
    Raises ImportProblem (confirmed before, a name the CSV does not give) or UploadProblem."""
    _unconfirmed(imp)
    store, tk = runtime().storage, await _tenant_key(scope)
    data = await anyio.to_thread.run_sync(_read, store, tk, _source_key(imp.id))
    wanted = {unicodedata.normalize("NFC", n): n for n in video_names(data) if len(n) <= 255}  # as a file system
    spelled = wanted.get(unicodedata.normalize("NFC", name.strip()))
    if spelled is None:
        raise ImportProblem(_("The CSV names no video “%(name)s”; only the files of its video column are taken.")
                            % {"name": name[:255]})
    check_announced(size or 0, sha256, max_bytes)
    video_id = uuid4()
    return await scope.add(ImportVideo(id=video_id, interview_import=imp.id, name=spelled, size=size, sha256=sha256,
                                       blob_key=_video_key(imp.id, video_id)))


async def finish_video_upload(scope: TenantScope, imp: InterviewImport, video: ImportVideo) -> ImportVideo:
    """All bytes of a staged video are in: join, check and probe it (`assemble`: a file that does
    not decode is refused, UploadProblem 422) and keep it in place of any of the same name."""
    store, tk = runtime().storage, await _tenant_key(scope)
    info, sha256 = await assemble(scope, store, tk, video)
    await scope.update(ImportVideo, {ImportVideo.state: "complete", ImportVideo.sha256: sha256,
                                     ImportVideo.parts: []}).where(ImportVideo.id == video.id)
    await anyio.to_thread.run_sync(drop_parts, store, tk, video)
    video.state, video.sha256 = "complete", sha256
    log.info("import_video_staged", import_id=str(imp.id), container=info.container)
    await _keep_video(scope, store, tk, video)
    return video


async def _drop_staged(scope: TenantScope, store: BlobStore, tk: TenantKey, imp: InterviewImport) -> None:
    """The import's CSV and every video staged or on its way in go (blobs and rows)."""
    videos = await scope.objects(ImportVideo).where(ImportVideo.interview_import == imp.id)
    for video in videos:
        for key in [video.blob_key, *parts_of(video)]:
            store.delete(tk, key)
    await scope.delete(ImportVideo).where(ImportVideo.interview_import == imp.id)
    store.delete(tk, _source_key(imp.id))


async def check_staged(scope: TenantScope, imp: InterviewImport) -> ImportCheck:
    """The import's CSV checked against the videos staged so far."""
    store, tk = runtime().storage, await _tenant_key(scope)
    data = await anyio.to_thread.run_sync(_read, store, tk, _source_key(imp.id))
    videos = await staged_videos(scope, imp)

    async def probe_staged(name: str) -> VideoInfo | None:
        key = videos.get(name)
        if key is None or not store.exists(tk, key):
            return None
        return await anyio.to_thread.run_sync(probe, store, tk, key)

    return await check_import(scope, data, probe_staged)


async def confirm_import(scope: TenantScope, imp: InterviewImport, actor: Any, ip: str = "") -> UUID:
    """Check again; when clean, keep the rows and queue the job. Returns the job id; raises
    ImportProblem when the import was confirmed before or the check finds problems."""
    _unconfirmed(imp)
    check = await check_staged(scope, imp)
    if not check.ok:
        raise ImportProblem(_("The check found problems; correct them before importing."))
    claimed = await scope.update(InterviewImport, {
        InterviewImport.state: "queued", InterviewImport.rows: [row.as_json() for row in check.rows],
    }).where((InterviewImport.id == imp.id) & (InterviewImport.state == "checked")).returning(InterviewImport.id)
    if not claimed:
        raise ImportProblem(_("This import has already been confirmed."))
    job_id = await runtime().tasks.enqueue("core.import_interviews", tenant_id=scope.tenant_id, import_id=str(imp.id))
    await scope.update(InterviewImport, {InterviewImport.job: job_id}).where(InterviewImport.id == imp.id)
    imp.state, imp.job = "queued", job_id
    await audit.record("interviews.import_confirmed", tenant_id=scope.tenant_id, actor=actor, target=str(imp.id),
                       detail={"rows": len(check.rows), "consent_source": imp.consent_source}, ip=ip)
    return job_id


def _copy_video(store: BlobStore, tk: TenantKey, staged: str,
                key_of: Callable[[str], str]) -> tuple[str, VideoInfo, int, str]:
    """Copy a staged video to its recording's key (`key_of(container)`); (key, probe, size in
    bytes, SHA-256 hex)."""
    try:
        info = probe(store, tk, staged)
    except NotAVideo as exc:
        raise JobRefused(str(exc)) from exc
    key = key_of(info.container)
    digest = hashlib.sha256()
    with store.writer(tk, key) as out:
        for block in store.read(tk, staged):
            digest.update(block)
            out.write(block)
    return key, info, out.size, digest.hexdigest()


class _AlreadyImported(Exception):
    """Another run of the job committed this import: this one rolls back and keeps its blobs."""


async def import_interviews(*, tenant_id: str, import_id: str) -> str:
    """The `core.import_interviews` actor: import a confirmed InterviewImport (see the module)."""
    scope = TenantScope(tenant_id)
    imp = await scope.objects(InterviewImport).where(InterviewImport.id == import_id).first()
    if imp is None:
        raise JobRefused(N_("no such import"))
    if imp.state == "done":
        return _("%(n)s interviews imported.") % {"n": imp.interviews}
    await scope.update(InterviewImport, {InterviewImport.state: "running", InterviewImport.error: ""}).where(
        InterviewImport.id == imp.id)
    rows = [ImportRow.from_json(r) for r in json_value(imp.rows) or []]
    store, tk = runtime().storage, await _tenant_key(scope)
    videos = await staged_videos(scope, imp)
    written: list[str] = []
    try:
        prepared = []
        for n, row in enumerate(rows, start=1):
            recording_id = uuid5(imp.id, f"recording:{row.line}")
            key_of = functools.partial(recording_key, f"imports-{imp.id}", recording_id)
            copied = await anyio.to_thread.run_sync(_copy_video, store, tk, videos[row.video], key_of)
            written.append(copied[0])
            prepared.append((row, recording_id, *copied))
            report_progress(int(80 * n / len(rows)),
                            job_text(N_("videos stored: %(n)s of %(total)s"), n=n, total=len(rows)))
        async with write_transaction():
            claimed = await scope.update(InterviewImport, {
                InterviewImport.state: "done", InterviewImport.interviews: len(rows),
                InterviewImport.finished_at: datetime.now(timezone.utc),
            }).where((InterviewImport.id == imp.id) & (InterviewImport.state != "done")).returning(InterviewImport.id)
            if not claimed:
                raise _AlreadyImported
            people: dict[str, User] = {}
            made = [await _import_row(scope, imp, people, *item) for item in prepared]
            await audit.record("interviews.imported", tenant_id=scope.tenant_id, actor=imp.created_by,
                               target=str(imp.id), detail={"interviews": len(made)})
    except _AlreadyImported:
        return _("%(n)s interviews imported.") % {"n": len(rows)}
    except BaseException as exc:
        for key in written:
            store.delete(tk, key)
        await scope.update(InterviewImport, {InterviewImport.state: "failed", InterviewImport.error: str(exc)[:2000],
                                             InterviewImport.finished_at: datetime.now(timezone.utc)}).where(
            InterviewImport.id == imp.id)
        await audit.record("interviews.import_failed", tenant_id=scope.tenant_id, actor=imp.created_by,
                           target=str(imp.id), detail={"error": str(exc)[:500]})
        raise
    report_progress(90, N_("starting the analysis"))
    for _interview, recording in made:
        await announce(scope, runtime().host, recording)
    await _drop_staged(scope, store, tk, imp)
    return _("%(n)s interviews imported.") % {"n": len(made)}


async def _interviewee(scope: TenantScope, imp: InterviewImport, people: dict[str, User], row: ImportRow) -> User:
    """The row's interviewee: the tenant's user of that address, else a new one without password
    (no mail, no link); a row without an address gets a person of its own."""
    email = row.interviewee_email or f"imported-{uuid5(imp.id, f'person:{row.line}').hex}@{PLACEHOLDER_DOMAIN}"
    if email in people:
        return people[email]
    user = await scope.objects(User).where(User.email == email).first()
    if user is None:
        user = await create_person(scope, email=email, display_name=row.interviewee_name, role="interviewee")
    for purpose in CONSENT_PURPOSES:
        text = await current_consent(scope.tenant_id, purpose)
        await record_consent(scope.tenant_id, user.id, purpose, text.version, source=imp.consent_source)
    people[email] = user
    return user


async def _import_row(scope: TenantScope, imp: InterviewImport, people: dict[str, User], row: ImportRow,
                      recording_id: UUID, key: str, info: VideoInfo, size: int, sha256: str) -> tuple[Interview, Recording]:
    interviewee = await _interviewee(scope, imp, people, row)
    interview = await schedule_interview(
        scope, kind="live", starts_at=row.starts_at, duration_minutes=DURATION_MINUTES, interviewee_id=interviewee.id,
        interviewer_id=row.interviewer_id, expert_ids=list(row.scores), version_id=row.version_id,
        check=False)  # held in the past
    # Held and over on the CSV's date (mark_finished would stamp the import's time).
    finished_at = row.starts_at + timedelta(minutes=DURATION_MINUTES)
    await scope.update(Interview, {Interview.imported_from: imp.id, Interview.finished_at: finished_at}).where(
        Interview.id == interview.id)
    interview.imported_from, interview.finished_at = imp.id, finished_at
    await advance(scope, interview, "recorded")
    recording = await add_stored_recording(scope, interview, interviewee, recording_id=recording_id, blob_key=key,
                                           filename=row.video, size=size, sha256=sha256, info=info)
    await record_completion(scope, interview, recording)  # its analysis commits with the import
    for expert_id, scores in row.scores.items():
        expert = await scope.get(User, expert_id)
        await save_evaluation(scope, interview, expert, {k: str(v) for k, v in scores.items()}, "")
    return interview, recording


async def _import_failed(kwargs: dict[str, Any]) -> None:
    """The job failed for good (its retries spent): the staged CSV and videos go too, since no
    one can confirm the import again; the admin imports the file anew."""
    scope = TenantScope(kwargs["tenant_id"])
    imp = await scope.objects(InterviewImport).where(InterviewImport.id == kwargs["import_id"]).first()
    if imp is None or imp.state == "done":
        return
    await _drop_staged(scope, runtime().storage, await _tenant_key(scope), imp)
    await scope.update(InterviewImport, {InterviewImport.state: "failed"}).where(InterviewImport.id == imp.id)


on_final_failure("core.import_interviews", _import_failed)
IMPORT_ACTORS = {"core.import_interviews": import_interviews}
