"""Bulk import of past interviews with their expert scores (issue 18, item 3): the check's report,
the CSV encodings Excel saves, all or nothing, one import per job however often it runs."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pytest

import core.interviews.import_run as import_run
from core.db.tables import AuditEntry, Job, User
from core.interviews.import_check import check_import
from core.interviews.import_run import confirm_import, create_import, import_interviews, stage_video, \
    start_video_upload
from core.interviews.schedule import TOKYO
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.tables import Evaluation, ImportVideo, Interview, InterviewImport, Recording
from core.tenancy import TenantScope
from tenants.tables import ConsentRecord
from tests.conftest import HTML, eventually, form_csrf, login, wait_for_job
from tests.test_recording_upload import api, send, upload_all
from tests.video_files import make_video

ITEMS = [EvaluationItem(key="warmth", name="Warmth"), EvaluationItem(key="composure", name="Composure")]
HEADER = ["interviewee_name", "interviewee_email", "interview_date", "question_set", "video"]


async def prepared(make_tenant, make_user, experts: int = 2):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    admin = await make_user(tenant, "admin")
    expert_users = [await make_user(tenant, "expert") for _ in range(experts)]
    await create_question_set(scope, name="一次面接", questions=[Question("自己紹介をお願いします。")], items=ITEMS)
    return tenant, scope, admin, expert_users


def csv_of(experts, rows: list[list[str]], delimiter: str = ",") -> str:
    """Rows of the five leading columns, then a score per item and expert (in that order)."""
    header = HEADER + [f"score:{item.key}:{e.email}" for e in experts for item in ITEMS]
    return "\r\n".join(delimiter.join(line) for line in [header, *rows]) + "\r\n"


def folder_probe(folder: Path):
    from core.media import probe

    async def probe_file(name: str):
        path = folder / name
        return probe(path) if path.is_file() else None

    return probe_file


async def test_the_check_reports_every_kind_of_bad_row_in_japanese_and_english(client, make_tenant, make_user,
                                                                                  tmp_path):
    tenant, scope, _admin, experts = await prepared(make_tenant, make_user)
    outsider = await make_user(tenant, "interviewer")
    make_video(tmp_path / "good.mp4")
    make_video(tmp_path / "good2.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"this is no video")
    text = csv_of(experts, [
        ["佐藤 花子", "hanako@example.jp", "2025-04-01", "一次面接", "good.mp4", "4", "3", "5", "2"],  # 2: clean
        ["鈴木 一郎", "", "2025-04-02", "二次面接", "good.mp4", "4", "3", "", ""],  # 3: unknown set, same video
        ["田中 次郎", "", "2025-13-40", "一次面接", "missing.mp4", "9", "3", "", ""],  # 4: bad date, missing, range
        ["高橋 三郎", "", "2099-01-01", "一次面接", "broken.mp4", "4", "", "", ""],  # 5: future, unreadable, required
        ["佐藤 花子", "hanako@example.jp", "2025/4/1", "一次面接", "other.mp4", "4", "3", "", ""],  # 6: duplicate of 2
        ["山田 四郎", outsider.email, "2025-04-03", "一次面接", "good2.mp4", "4", "3", "", ""],  # 7: staff address
    ]).replace(f"score:composure:{experts[1].email}", f"score:composure:{outsider.email}").replace(
        f"score:warmth:{experts[1].email}", f"score:charm:{experts[1].email}")
    check = await check_import(scope, text.encode(), folder_probe(tmp_path))

    def said(line: int, column: str) -> str:
        return " | ".join(p.message_en for p in check.problems if p.line == line and p.column.startswith(column))

    assert not check.ok
    assert "charm" in said(2, "score:charm")  # unknown item
    assert f"{outsider.email} is not an active expert" in said(2, "score:composure")
    assert "二次面接" in check.problems_of(3)[0].message_ja + check.problems_of(3)[1].message_ja
    assert "No question set" in said(3, "question_set") and "line 2" in said(3, "video")  # the same video twice
    assert "YYYY-MM-DD" in said(4, "interview_date") and "missing.mp4" in said(4, "video")
    assert "from 1 to 5" in said(4, "score:warmth")
    assert "ahead" in said(5, "interview_date")
    assert "broken.mp4" in said(5, "video") and "not a video" in said(5, "video")
    assert "required" in said(5, "score:composure")
    assert "line 2" in said(6, "") and "The same interview" in said(6, "")  # interviewee, date and set of line 2
    assert said(7, "") == "This e-mail address belongs to a user who is not an active interviewee."
    for problem in check.problems:
        assert problem.message_ja and problem.message_en and problem.message_ja != problem.message_en
    assert [r.line for r in check.rows] == [2, 3, 5, 6, 7]  # what would be imported (a row without a date is not)


@pytest.mark.parametrize("encoding,delimiter", [("cp932", ","), ("utf-16", "\t")])
async def test_a_japanese_excel_csv_is_read_in_cp932_or_utf16(client, make_tenant, make_user, tmp_path,
                                                              encoding, delimiter):
    _tenant, scope, _admin, experts = await prepared(make_tenant, make_user, experts=1)
    make_video(tmp_path / "面接1.mp4")
    text = csv_of(experts, [["渡辺 結衣", "", "2025/04/01 14:30", "一次面接", "面接1.mp4", "5", "4"]], delimiter)
    check = await check_import(scope, text.encode(encoding), folder_probe(tmp_path))
    assert check.ok, [p.message_en for p in check.problems]
    (row,) = check.rows
    assert row.interviewee_name == "渡辺 結衣" and row.video == "面接1.mp4"
    assert row.starts_at == datetime(2025, 4, 1, 5, 30, tzinfo=timezone.utc)  # 14:30 in Japan
    assert row.scores == {str(experts[0].id): {"warmth": 5, "composure": 4}}


async def test_a_japanese_date_with_full_width_digits_is_read(client, make_tenant, make_user, tmp_path):
    _tenant, scope, _admin, experts = await prepared(make_tenant, make_user, experts=1)
    make_video(tmp_path / "面接1.mp4")
    text = csv_of(experts, [["渡辺 結衣", "", "２０２５年４月１日 14:30", "一次面接", "面接1.mp4", "5", "4"]])
    check = await check_import(scope, text.encode(), folder_probe(tmp_path))
    assert check.ok, [p.message_en for p in check.problems]
    assert check.rows[0].starts_at == datetime(2025, 4, 1, 5, 30, tzinfo=timezone.utc)


async def test_a_huge_score_is_one_problem_of_its_cell(client, make_tenant, make_user, tmp_path):
    _tenant, scope, _admin, experts = await prepared(make_tenant, make_user, experts=1)
    make_video(tmp_path / "面接1.mp4")
    text = csv_of(experts, [["渡辺 結衣", "", "2025-04-01", "一次面接", "面接1.mp4", "9" * 5000, "4"]])
    check = await check_import(scope, text.encode(), folder_probe(tmp_path))
    assert [(p.column, p.message_en) for p in check.problems] == [
        (f"score:warmth:{experts[0].email}", "“warmth” takes a whole number from 1 to 5.")]


async def test_only_a_name_the_csv_gives_and_a_file_system_allows_starts_an_upload(client, make_tenant, make_user):
    _tenant, scope, admin, experts = await prepared(make_tenant, make_user, experts=1)
    long_name = "動" * 300 + ".mp4"
    data = csv_of(experts, [["渡辺 結衣", "", "2025-04-01", "一次面接", name, "5", "4"]
                            for name in ("面接ビデオ.mp4", long_name)]).encode()
    imp = await create_import(scope, data=data, filename="past.csv", consent_source="紙の同意書", created_by=admin)
    announced = {"size": 10, "sha256": "0" * 64, "max_bytes": 100}
    # A Mac spells ビ decomposed (NFD); the CSV's spelling is kept.
    decomposed = unicodedata.normalize("NFD", "面接ビデオ.mp4")
    assert decomposed != "面接ビデオ.mp4"
    video = await start_video_upload(scope, imp, name=decomposed, **announced)
    assert video.name == "面接ビデオ.mp4"
    for name in (long_name, "other.mp4"):
        with pytest.raises(import_run.ImportProblem):
            await start_video_upload(scope, imp, name=name, **announced)


async def test_an_unreadable_file_is_reported_in_japanese_and_english(client, make_tenant, make_user, tmp_path):
    _tenant, scope, _admin, _experts = await prepared(make_tenant, make_user, experts=1)
    check = await check_import(scope, make_video(tmp_path / "not-a-table.mp4").read_bytes(), folder_probe(tmp_path))
    (problem,) = check.problems
    assert "Excel" in problem.message_ja and "Excel" in problem.message_en
    assert problem.message_ja != problem.message_en and "save" in problem.message_en.lower()


async def _staged_import(scope, admin, experts, tmp_path, count: int, source: str = "面談同意書（紙）、人事部保管"):
    rows = []
    for n in range(count):
        name = f"past-{n}.mp4"
        make_video(tmp_path / name, seconds=0.5, size=(64, 48))
        rows.append([f"候補者 {n}", f"c{n}@example.jp", f"2025-04-{n + 1:02d}", "一次面接", name,
                     str(1 + n % 5), str(1 + (n * 2) % 5), "3", "4"])
    data = csv_of(experts, rows).encode("utf-8-sig")
    imp = await create_import(scope, data=data, filename="past.csv", consent_source=source, created_by=admin)
    for row in rows:
        await stage_video(scope, imp, row[4], tmp_path / row[4])
    return imp


async def _blobs_under(storage, tenant, prefix: str) -> list[Path]:
    root = storage.root / str(tenant.id) / prefix
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_the_same_file_without_addresses_is_not_imported_twice(client, make_tenant, make_user, tmp_path):
    _tenant, scope, admin, experts = await prepared(make_tenant, make_user, experts=1)
    make_video(tmp_path / "a.mp4", seconds=0.5, size=(64, 48))
    data = csv_of(experts, [["渡辺 結衣", "", "2025-04-01", "一次面接", "a.mp4", "5", "4"]]).encode()
    imp = await create_import(scope, data=data, filename="past.csv", consent_source="紙の同意書", created_by=admin)
    await stage_video(scope, imp, "a.mp4", tmp_path / "a.mp4")
    job = await wait_for_job(await confirm_import(scope, imp, admin))
    assert job.state == "done", job.error
    again = await check_import(scope, data, folder_probe(tmp_path))
    assert [p.message_en for p in again.problems] == ["This interview was imported before."]
    other = csv_of(experts, [["渡辺 結衣", "", "2025-04-02", "一次面接", "a.mp4", "5", "4"]]).encode()
    assert (await check_import(scope, other, folder_probe(tmp_path))).ok  # another day is another interview


async def test_a_large_file_is_kept_and_its_report_asks_to_split_it(client, make_tenant, make_user):
    tenant, scope, admin, experts = await prepared(make_tenant, make_user, experts=1)
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/imports/", headers=HTML)
    row = ["渡辺 結衣", "", "2025-04-01", "一次面接", "a.mp4", "5", "4"]
    data = csv_of(experts, [row] * 200_000).encode()
    assert len(data) > 10_000_000  # past the server's default request limit, within the CSV reader's
    kept = await client.post(f"/t/{tenant.slug}/imports/", headers=HTML, follow_redirects=False,
                             data={"_csrf_token": form_csrf(page.text), "consent_declared": "1",
                                   "consent_source": "紙の同意書"}, files={"file": ("big.csv", data, "text/csv")})
    assert kept.status_code in (302, 303), kept.text[:500]
    report = await client.get(kept.headers["location"], headers=HTML)
    assert "200000行あります" in report.text and "at most 2000 at a time" in report.text


async def test_a_failure_mid_import_leaves_nothing_and_the_same_file_imports_afterwards(
    client, make_tenant, make_user, storage, tmp_path, monkeypatch
):
    tenant, scope, admin, experts = await prepared(make_tenant, make_user)
    people_before = await scope.count(User)
    imp = await _staged_import(scope, admin, experts, tmp_path, 3)

    real_save = import_run.save_evaluation
    third_row = datetime(2025, 4, 3, tzinfo=TOKYO)

    async def fails_on_the_third_row(scope, interview, *args, **kwargs):
        if interview.starts_at == third_row:
            raise RuntimeError("disk full")
        return await real_save(scope, interview, *args, **kwargs)

    monkeypatch.setattr(import_run, "save_evaluation", fails_on_the_third_row)
    job = await wait_for_job(await confirm_import(scope, imp, admin))
    assert job.state == "failed" and "disk full" in job.error
    assert await scope.count(Interview) == 0 and await scope.count(Recording) == 0
    assert await scope.count(Evaluation) == 0 and await scope.count(User) == people_before
    assert await scope.count(ConsentRecord) == 0
    assert await _blobs_under(storage, tenant, "recordings") == []
    failed = await scope.get(InterviewImport, imp.id)
    assert failed.state == "failed" and "disk full" in failed.error

    async def staged_files_removed():
        return await _blobs_under(storage, tenant, f"imports/{imp.id}") == []
    await eventually(staged_files_removed, what="the failed import's staged CSV and videos removed")

    monkeypatch.setattr(import_run, "save_evaluation", real_save)
    again = await _staged_import(scope, admin, experts, tmp_path, 3)
    job = await wait_for_job(await confirm_import(scope, again, admin))
    assert job.state == "done", job.error
    assert await scope.count(Interview).where(Interview.imported_from == again.id) == 3
    assert len(await _blobs_under(storage, tenant, "recordings")) == 3
    assert await AuditEntry.exists().where((AuditEntry.tenant == tenant.id)
                                           & (AuditEntry.action == "interviews.import_failed"))


async def test_an_import_run_twice_imports_once_and_keeps_the_declared_consent(client, make_tenant, make_user,
                                                                              storage, tmp_path):
    tenant, scope, admin, experts = await prepared(make_tenant, make_user)
    imp = await _staged_import(scope, admin, experts, tmp_path, 2, source="紙の同意書 2024年度")
    job = await wait_for_job(await confirm_import(scope, imp, admin))
    assert job.state == "done", job.error
    # A worker that died after the commit: the broker delivers the job again.
    assert "2" in await import_interviews(tenant_id=str(tenant.id), import_id=str(imp.id))
    interviews = await scope.objects(Interview).where(Interview.imported_from == imp.id).order_by(Interview.starts_at)
    assert len(interviews) == 2 and await scope.count(Recording) == 2 and await scope.count(Evaluation) == 4
    first = interviews[0]
    assert first.starts_at == datetime(2025, 3, 31, 15, tzinfo=timezone.utc)  # 2025-04-01 in Japan
    assert first.finished_at is not None and first.state == "evaluated"
    recording = await scope.objects(Recording).where(Recording.interview == first.id).first()
    assert recording.state == "complete" and recording.filename == "past-0.mp4" and recording.duration_s > 0
    interviewee = await scope.get(User, first.interviewee)
    assert interviewee.password_hash is None and interviewee.display_name == "候補者 0"
    records = await scope.objects(ConsentRecord).where(ConsentRecord.user == interviewee.id)
    assert {r.purpose for r in records} == {"recording", "training"}
    assert {r.source for r in records} == {"紙の同意書 2024年度"}
    # Staged videos and the CSV are gone once imported; the recordings stay.
    assert await _blobs_under(storage, tenant, f"imports/{imp.id}") == []
    assert await Job.count().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail")) == 0


async def create(client, uploads: str, data: bytes, filename: str):
    return await client.post(uploads, headers=api(client), json={
        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "filename": filename})


async def test_an_admin_imports_through_the_pages_with_the_consent_declaration(client, make_tenant, make_user,
                                                                              tmp_path):
    tenant, scope, admin, experts = await prepared(make_tenant, make_user)
    await login(client, tenant, admin)
    base = f"/t/{tenant.slug}/imports"
    page = await client.get(f"{base}/", headers=HTML)
    assert page.status_code == 200 and "過去の面談の取り込み" in page.text
    for n in range(2):
        make_video(tmp_path / f"v{n}.mp4", seconds=0.5, size=(64, 48))
    data = csv_of(experts, [[f"候補者 {n}", "", f"2025-05-0{n + 1}", "一次面接", f"v{n}.mp4", "3", "4", "2", "5"]
                            for n in range(2)]).encode("cp932")
    form = {"_csrf_token": form_csrf(page.text), "consent_source": "紙の同意書"}

    refused = await client.post(f"{base}/", data=form, files={"file": ("past.csv", data, "text/csv")}, headers=HTML)
    assert refused.status_code == 400 and "同意を得たことを宣言" in refused.text
    assert await scope.count(InterviewImport) == 0

    kept = await client.post(f"{base}/", data={**form, "consent_declared": "1"},
                             files={"file": ("past.csv", data, "text/csv")}, headers=HTML, follow_redirects=False)
    assert kept.status_code in (302, 303), kept.text
    report = await client.get(kept.headers["location"], headers=HTML)
    assert "動画をアップロードしてから" in report.text  # the confirmation that the file was kept
    assert "動画「v0.mp4」がありません。" in report.text and "The video “v1.mp4” is missing." in report.text
    imp = await scope.objects(InterviewImport).first()
    confirm_url = f"{base}/{imp.id}/confirm"
    early = await client.post(confirm_url, data={"_csrf_token": form_csrf(report.text)}, headers=HTML)
    assert early.status_code == 400 and await scope.count(Interview) == 0

    uploads = f"{base}/{imp.id}/uploads"
    stranger = await create(client, uploads, b"video", "other.mp4")
    assert stranger.status_code == 400 and "video列" in stranger.json()["detail"]
    # A file that is no video, named as the CSV says: refused by its content, and the page says so.
    fake = b"this is a spreadsheet, not a video" * 40
    created = await create(client, uploads, fake, "v0.mp4")
    assert created.status_code == 201, created.text
    refused = await upload_all(client, created.headers["location"], fake)
    assert refused.status_code == 422, refused.text
    report = await client.get(f"{base}/{imp.id}", headers=HTML)
    assert 'data-state="refused"' in report.text and "動画「v0.mp4」がありません。" in report.text
    for n in range(2):
        data = (tmp_path / f"v{n}.mp4").read_bytes()
        created = await create(client, uploads, data, f"v{n}.mp4")
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        # A dropped connection: the client asks where to go on (HEAD) and sends the rest.
        assert (await send(client, location, 0, data[:700])).status_code == 204
        offset = await client.head(location, headers=api(client))
        assert offset.headers["upload-offset"] == "700" and offset.headers["upload-length"] == str(len(data))
        finished = await upload_all(client, location, data, start=700)
        assert finished.status_code == 204 and finished.headers["upload-state"] == "complete", finished.text
    # The same video again replaces the one before: one staged file per name.
    data = (tmp_path / "v1.mp4").read_bytes()
    again = await create(client, uploads, data, "v1.mp4")
    assert (await upload_all(client, again.headers["location"], data)).status_code == 204
    staged = await scope.objects(ImportVideo).where(ImportVideo.state == "complete")
    assert sorted(v.name for v in staged) == ["v0.mp4", "v1.mp4"]
    report = await client.get(f"{base}/{imp.id}", headers=HTML)
    assert "がありません" not in report.text and "disabled" not in report.text.split("/confirm")[1][:200]
    done = await client.post(confirm_url, data={"_csrf_token": form_csrf(report.text)}, headers=HTML,
                             follow_redirects=False)
    assert done.status_code in (302, 303), done.text
    imp = await scope.get(InterviewImport, imp.id)
    job = await wait_for_job(imp.job)
    assert job.state == "done", job.error
    assert await scope.count(Interview).where(Interview.imported_from == imp.id) == 2
    interview = await scope.objects(Interview).where(Interview.imported_from == imp.id).first()
    shown = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert shown.status_code == 200 and "取り込んだ過去の面談" in shown.text
    listing = await client.get(f"{base}/", headers=HTML)
    assert "取り込み済み" in listing.text, listing.text[-3000:]
    assert "past.csv" in listing.text
    again = await client.post(confirm_url, data={"_csrf_token": form_csrf(listing.text)}, headers=HTML)
    assert again.status_code == 409 and await scope.count(Interview) == 2
    actions = {e.action for e in await AuditEntry.objects().where(AuditEntry.tenant == tenant.id)}
    assert {"interviews.import_created", "interviews.import_video_staged", "interviews.import_confirmed",
            "interviews.imported"} <= actions
