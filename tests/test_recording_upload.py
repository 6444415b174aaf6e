"""Resumable, checksummed recording uploads into encrypted storage (issue 4, point 6)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import av
import numpy as np
import pytest

from core.hookspecs import hookimpl
from core.interviews.tables import Interview, Recording
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from tests.conftest import HTML
from tests.interview_fixtures import chunk_checksum, consent, join, make_interview
from tests.video_files import make_iphone_mov, make_video


def api(client) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["csrftoken"], "accept": "application/json"}


async def create(client, tenant, interview, data: bytes, filename: str = "answer.webm"):
    return await client.post(
        f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client),
        json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "filename": filename,
              "content_type": "video/webm" if filename.endswith(".webm") else "video/mp4"})


async def send(client, location, offset: int, chunk: bytes, checksum: str | None = None):
    headers = {**api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(offset),
               "tus-resumable": "1.0.0", "upload-checksum": checksum or chunk_checksum(chunk)}
    return await client.patch(location, content=chunk, headers=headers)


async def upload_all(client, location, data: bytes, start: int = 0, size: int = 1000):
    response = None
    for offset in range(start, len(data), size):
        response = await send(client, location, offset, data[offset:offset + size])
        assert response.status_code in (204, 422), response.text
    return response


@pytest.fixture
def webm(tmp_path: Path) -> bytes:
    return make_video(tmp_path / "answer.webm", seconds=1).read_bytes()


class CompletedRecordings:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="recording_watch", name_ja="録画監視", name_en="Recording watch", version="1.0",
                          kind="basic", hours="batch")

    @hookimpl
    def mendan_recording_completed(self, tenant_id, interview_id, recording_id):
        self.calls.append({"tenant_id": tenant_id, "interview_id": interview_id, "recording_id": recording_id})


async def test_upload_interrupted_after_half_its_chunks_resumes_to_a_byte_identical_file(
        host, app, client, make_tenant, make_user, storage, webm):
    watcher = CompletedRecordings()
    host.register(watcher, key="recording_watch")
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])

    created = await create(client, tenant, setup["interview"], webm)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    chunk = max(1, len(webm) // 8)
    offsets = list(range(0, len(webm), chunk))
    half = offsets[len(offsets) // 2]
    await upload_all(client, location, webm[:half], size=chunk)
    # The connection breaks in the middle of the next chunk: only part of it arrives.
    broken = webm[half:half + chunk][: chunk // 2]
    response = await send(client, location, half, broken, checksum=chunk_checksum(webm[half:half + chunk]))
    assert response.status_code == 460

    head = await client.head(location, headers=api(client))
    assert head.headers["upload-offset"] == str(half)
    response = await upload_all(client, location, webm, start=half, size=chunk)
    assert response.status_code == 204 and response.headers["upload-state"] == "complete"

    rec = await TenantScope(tenant.id).get(Recording, created.json()["id"])
    assert rec.state == "complete" and rec.width == 160 and rec.height == 120
    stored = b"".join(storage.read(storage.tenant_key(tenant), rec.blob_key))
    assert stored == webm
    assert webm[:64] not in (storage.root / str(tenant.id) / rec.blob_key).read_bytes()  # encrypted at rest
    interview = await TenantScope(tenant.id).get(Interview, setup["interview"].id)
    assert interview.state == "recorded"
    assert watcher.calls == [{"tenant_id": tenant.id, "interview_id": interview.id, "recording_id": rec.id}]


async def test_a_file_whose_checksum_does_not_match_is_refused(client, make_tenant, make_user, webm):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    created = await create(client, tenant, setup["interview"], webm)
    corrupt = bytearray(webm)
    corrupt[len(corrupt) // 2] ^= 0xFF
    response = await upload_all(client, created.headers["location"], bytes(corrupt))
    assert response.status_code == 422
    assert "checksum" in response.json()["detail"].lower() or "チェックサム" in response.json()["detail"]
    rec = await TenantScope(tenant.id).get(Recording, created.json()["id"])
    assert rec.state == "refused"


async def test_a_file_that_is_not_a_video_is_refused_with_a_clear_message(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="en")
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    data = b"\x1a\x45\xdf\xa3" + b"this is not a video at all " * 200
    created = await create(client, tenant, setup["interview"], data)
    response = await upload_all(client, created.headers["location"], data)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "This file is not a video that can be read, so it was refused.")
    assert "QuickTime" in response.json()["detail"]


async def test_the_content_decides_not_the_name_and_the_size_limit_holds(client, make_tenant, make_user, settings,
                                                                          webm, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="en")
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    # A WebM called .avi is a WebM.
    created = await create(client, tenant, setup["interview"], webm, filename="answer.avi")
    assert created.status_code == 201, created.text
    assert (await upload_all(client, created.headers["location"], webm)).status_code == 204
    # A real AVI (MPEG-4 in RIFF), named .mp4, is refused once its content is known.
    avi = tmp_path / "clip.avi"
    with av.open(str(avi), mode="w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for n in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), n * 40, np.uint8),
                                                                  format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = avi.read_bytes()
    created = await create(client, tenant, setup["interview"], data, filename="clip.mp4")
    refused = await upload_all(client, created.headers["location"], data)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    too_big = await client.post(
        f"/t/{tenant.slug}/interviews/{setup['interview'].id}/uploads", headers=api(client),
        json={"size": settings.upload_max_bytes + 1, "sha256": "0" * 64, "filename": "a.mp4"})
    assert too_big.status_code == 413


async def test_an_iphone_mov_is_accepted_by_its_content(client, make_tenant, make_user, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    # The upload page's file picker shows the file (pickers hide what `accept` leaves out).
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/record", headers=HTML)
    accept = re.search(r'id="video-file" type="file" accept="([^"]*)"', page.text).group(1).lower().split(",")
    assert {"video/*", "video/quicktime", ".mov"} & set(accept), accept
    data = make_iphone_mov(tmp_path / "IMG_0001.MOV").read_bytes()
    created = await client.post(
        f"/t/{tenant.slug}/interviews/{setup['interview'].id}/uploads", headers=api(client),
        json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "filename": "IMG_0001.MOV",
              "content_type": "video/quicktime"})
    assert created.status_code == 201, created.text
    assert (await upload_all(client, created.headers["location"], data, size=8192)).status_code == 204
    [rec] = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == setup["interview"].id)
    assert (rec.state, rec.container, rec.width, rec.height) == ("complete", "mp4", 320, 240)


async def test_a_deferred_upload_closed_by_an_empty_patch_without_checksum_completes(client, make_tenant, make_user,
                                                                                    webm):
    """What tus-js-client and Uppy send when a stream ends: chunks with checksums, then an empty
    PATCH carrying only Upload-Length."""
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    created = await client.post(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/uploads", headers=api(client),
                                json={"defer_length": True, "filename": "live.webm", "content_type": "video/webm"})
    location = created.headers["location"]
    assert (await upload_all(client, location, webm)).status_code == 204
    unchecked = await client.patch(location, content=b"xyz", headers={
        **api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(len(webm)),
        "tus-resumable": "1.0.0"})
    assert unchecked.status_code == 400  # bytes still need their checksum
    closing = await client.patch(location, content=b"", headers={
        **api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(len(webm)),
        "upload-length": str(len(webm)), "tus-resumable": "1.0.0"})
    assert closing.status_code == 204, closing.text
    assert closing.headers["upload-state"] == "complete"
    [rec] = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == setup["interview"].id)
    assert rec.state == "complete" and rec.size == len(webm) and rec.sha256 == hashlib.sha256(webm).hexdigest()


async def test_no_recording_is_accepted_without_the_interviewees_consent(client, make_tenant, make_user, webm):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await join(client, tenant, setup["interviewee"], setup["interview"])
    response = await create(client, tenant, setup["interview"], webm)
    assert response.status_code == 403
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/record",
                            headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].endswith("/consent")


async def test_another_tenants_recording_answers_404(client, make_tenant, make_user, webm):
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    a = await make_interview(tenant_a, make_user)
    b = await make_interview(tenant_b, make_user)
    await consent(tenant_a, a["interviewee"])
    await consent(tenant_b, b["interviewee"])
    await join(client, tenant_b, b["interviewee"], b["interview"])
    created = await create(client, tenant_b, b["interview"], webm)
    await upload_all(client, created.headers["location"], webm)
    rec_id = created.json()["id"]

    from tests.conftest import login
    await login(client, tenant_a, a["admin"])
    # Tenant B's recording, asked for under tenant A's interview, and under tenant B's URL.
    for url in (f"/t/{tenant_a.slug}/interviews/{a['interview'].id}/uploads/{rec_id}",
                f"/t/{tenant_a.slug}/interviews/{a['interview'].id}/recordings/{rec_id}/media",
                f"/t/{tenant_b.slug}/interviews/{b['interview'].id}/recordings/{rec_id}/media",
                f"/t/{tenant_b.slug}/interviews/{b['interview'].id}/uploads/{rec_id}"):
        response = await client.get(url, headers={"accept": "application/json"})
        assert response.status_code == 404, url


async def test_staff_play_the_recording_decrypted_with_range_requests(client, make_tenant, make_user, webm):
    from tests.conftest import login

    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    created = await create(client, tenant, setup["interview"], webm)
    await upload_all(client, created.headers["location"], webm)
    media = f"/t/{tenant.slug}/interviews/{setup['interview'].id}/recordings/{created.json()['id']}/media"
    assert (await client.get(media)).status_code == 403  # the interviewee does not get the playback
    await login(client, tenant, setup["interviewer"])
    whole = await client.get(media)
    assert whole.status_code == 200 and whole.content == webm and whole.headers["content-type"] == "video/webm"
    part = await client.get(media, headers={"range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == webm[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(webm)}"
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers={"accept": "text/html"})
    assert f'src="{media}"' in page.text


async def test_a_portrait_phone_video_is_stored_with_its_displayed_size_and_true_length(
        client, make_tenant, make_user, tmp_path):
    from tests.media_fixtures import portrait_mp4

    made = portrait_mp4(tmp_path / "portrait.mp4")
    data = made.path.read_bytes()
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    created = await create(client, tenant, setup["interview"], data, filename="portrait.mp4")
    assert created.status_code == 201, created.text
    response = await upload_all(client, created.headers["location"], data, size=len(data))
    assert response.status_code == 204, response.text
    rec = await TenantScope(tenant.id).get(Recording, created.json()["id"])
    assert (rec.width, rec.height) == (480, 640)  # coded 640x480, turned 90 degrees
    assert rec.duration_s == pytest.approx(made.seconds, abs=0.2)


async def test_a_video_browsers_cannot_play_is_analysed_and_staff_are_offered_the_download(
        client, make_tenant, make_user, tmp_path):
    """An MPEG-4 Part 2 (`mp4v`) MP4, as old cameras and OpenCV write: Chromium shows no picture, so
    the page says so (in the interviewer's language) next to a download link; nothing is refused."""
    from tests.conftest import login

    old_camera = make_video(tmp_path / "古いカメラ.mp4", seconds=1)
    iphone = make_iphone_mov(tmp_path / "IMG_0002.MOV")
    for language in ("ja", "en"):
        tenant = await make_tenant()
        setup = await make_interview(tenant, make_user)
        await consent(tenant, setup["interviewee"])
        await join(client, tenant, setup["interviewee"], setup["interview"])
        ids = {}
        for path in (old_camera, iphone):
            data = path.read_bytes()
            created = await create(client, tenant, setup["interview"], data, filename=path.name)
            assert created.status_code == 201, created.text
            assert (await upload_all(client, created.headers["location"], data, size=8192)).status_code == 204
            ids[path.name] = created.json()["id"]
        recordings = {r.id: r for r in await TenantScope(tenant.id).objects(Recording).where(
            Recording.interview == setup["interview"].id)}
        assert {str(k): (r.state, r.video_codec) for k, r in recordings.items()} == {
            ids[old_camera.name]: ("complete", "mpeg4"), ids[iphone.name]: ("complete", "h264")}
        await login(client, tenant, setup["interviewer"])
        await client.get(f"/lang/{language}?next=/")  # the language switch
        page = (await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}",
                                 headers={"accept": "text/html"})).text
        media = f"/t/{tenant.slug}/interviews/{setup['interview'].id}/recordings/{{}}/media"
        assert f'id="unplayable-{ids[old_camera.name]}"' in page
        assert f'href="{media.format(ids[old_camera.name])}" download="{old_camera.name}"' in page
        assert f'id="unplayable-{ids[iphone.name]}"' not in page
        notice = {"ja": "ブラウザーはこの動画のコーデック（mpeg4）を再生できない",
                  "en": "Browsers cannot play this video's codec (mpeg4)"}[language]
        assert notice in page, page
