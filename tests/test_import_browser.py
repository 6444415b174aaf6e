"""In Debian's chromium: an admin imports past interviews through the page. The CSV is checked,
its two videos go through the resumable upload (tus), one of them loses its connection mid-way
and resumes from the server's offset, and the confirmed import finishes as a job."""

from __future__ import annotations

import pytest

from core.interviews.tables import ImportVideo, Interview, InterviewImport
from tests.conftest import PASSWORD, wait_for_job
from tests.test_bulk_import import csv_of, prepared
from tests.video_files import make_video

pytestmark = pytest.mark.browser


async def test_an_admin_uploads_the_videos_resumably_and_the_import_finishes(
        live_server, browser, make_tenant, make_user, tmp_path):
    tenant, scope, admin, experts = await prepared(make_tenant, make_user)
    small = make_video(tmp_path / "一次-佐藤.mp4", seconds=0.5, size=(64, 48))
    big = make_video(tmp_path / "一次-鈴木.mp4", seconds=2, size=(640, 480), noise=True)
    assert big.stat().st_size > 2 * 256 * 1024, "the interrupted video needs several chunks"
    table = tmp_path / "past.csv"
    table.write_bytes(csv_of(experts, [
        ["佐藤 花子", "", "2025-04-01", "一次面接", small.name, "4", "3", "5", "2"],
        ["鈴木 一郎", "", "2025-04-02", "一次面接", big.name, "2", "5", "3", "3"],
    ]).encode("utf-8-sig"))

    page = await browser.new_page(locale="ja-JP")
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", admin.email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.goto(f"{live_server}/t/{tenant.slug}/imports/")
    await page.set_input_files("input[name=file]", str(table))
    await page.check("input[name=consent_declared]")
    await page.fill("input[name=consent_source]", "紙の同意書（人事部保管）")
    await page.click("button:has-text('ファイルを確認')")
    await page.wait_for_selector("#import-video-files")
    assert await page.locator("#import-videos li[data-state=missing]").count() == 2

    seen: list[tuple[str, str, str]] = []  # (method, file's upload id, Upload-Offset)
    dropped: list[str] = []

    async def watch(route):
        request = route.request
        upload_id = request.url.rsplit("/", 1)[-1]
        offset = request.headers.get("upload-offset", "")
        seen.append((request.method, upload_id, offset))
        if request.method == "PATCH" and offset not in ("", "0") and not dropped:
            dropped.append(upload_id)  # the connection breaks in the middle of a file
            await route.abort("connectionreset")
            return
        await route.continue_()

    await page.route("**/imports/*/uploads/*", watch)
    async with page.expect_navigation(timeout=60_000):  # the page reloads once every file is in
        await page.set_input_files("#import-video-files", [str(small), str(big)])
    await page.wait_for_selector("#import-videos li[data-state]")
    states = await page.eval_on_selector_all("#import-videos li", "items => items.map((li) => li.dataset.state)")
    assert states == ["complete", "complete"], await page.inner_text("#import-videos")
    assert await page.inner_text("#import-video-results") == ""

    assert len(dropped) == 1
    resumed = [s for s in seen if s[1] == dropped[0]]
    patches = [int(offset) for method, _id, offset in resumed if method == "PATCH"]
    assert ("HEAD", dropped[0], "") in resumed, resumed  # asked where to go on
    assert patches.count(0) == 1 and len(patches) >= 3, patches  # resumed, never restarted from 0
    assert patches == sorted(patches), patches
    staged = await scope.objects(ImportVideo).where(ImportVideo.state == "complete")
    assert {v.name for v in staged} == {small.name, big.name}
    assert next(v for v in staged if v.name == big.name).size == big.stat().st_size

    await page.click("button:has-text('2件の面談を取り込む')")
    await page.wait_for_selector("p.notice[role=status]")
    # The job's progress is on the page and follows it live, unless it was over before the page came.
    await page.wait_for_function("""() => {
        const state = document.getElementById('job-state');
        return state ? state.dataset.state === 'done' : document.body.innerText.includes('件の面談を取り込みました');
    }""", timeout=60_000)
    imp = await scope.objects(InterviewImport).first()
    job = await wait_for_job(imp.job)
    assert job.state == "done", job.error
    await page.reload()
    assert "2件の面談を取り込みました。" in await page.inner_text("main")
    assert await scope.count(Interview).where(Interview.imported_from == imp.id) == 2
