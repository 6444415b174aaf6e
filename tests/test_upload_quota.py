"""The tenant's storage quota for recordings (issue 21, item 8): complete recordings plus what open
uploads reserve count against it; a new upload or a chunk past it is refused (tus 413, in Japanese
and English) before a byte is stored, and nothing stored is lost. Admins see the use on the
billing page; operators set a tenant's own limit."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.db.tables import Tenant
from core.interviews.tables import Recording
from core.interviews.uploads import parts_of
from core.tenancy import TenantScope
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import consent, join, make_interview
from tests.test_live_interview import api, live_upload, patch
from tests.video_files import make_video


async def create(client, tenant, interview, size: int, sha256: str = "0" * 64):
    return await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client),
                             json={"size": size, "sha256": sha256, "filename": "a.webm", "content_type": "video/webm"})


async def test_uploads_past_the_tenants_quota_are_refused_before_a_byte_is_stored(client, make_tenant, make_user,
                                                                                  tmp_path: Path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="en")
    interview = setup["interview"]
    video = make_video(tmp_path / "a.webm", seconds=1).read_bytes()
    quota = len(video) + 5000
    await Tenant.update({Tenant.storage_quota_bytes: quota}).where(Tenant.id == tenant.id)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)

    # A file of announced size reserves it whole at creation.
    first = await create(client, tenant, interview, len(video), hashlib.sha256(video).hexdigest())
    assert first.status_code == 201, first.text
    too_big = await create(client, tenant, interview, 6000)
    assert too_big.status_code == 413 and too_big.headers["tus-resumable"] == "1.0.0"
    assert "storage for recordings is full" in too_big.json()["detail"]
    assert await TenantScope(tenant.id).count(Recording).where(Recording.interview == interview.id) == 1

    # A live recording (deferred length) reserves what it received; a chunk past the limit is refused
    # whole, and what was stored before stays.
    location = await live_upload(client, tenant, interview)
    assert (await patch(client, location, 0, os.urandom(3000))).status_code == 204
    refused = await patch(client, location, 3000, os.urandom(3000))
    assert refused.status_code == 413
    assert "storage for recordings is full" in refused.json()["detail"]
    live = await TenantScope(tenant.id).objects(Recording).where(
        (Recording.interview == interview.id) & (Recording.size == 0)).first()
    assert live.upload_offset == 3000 and len(parts_of(live)) == 1
    store = client.app.state.storage
    tk = store.tenant_key(await Tenant.objects().where(Tenant.id == tenant.id).first())
    assert sorted(b.key for b in store.listed(tenant.id, "recordings/") if ".parts/" in b.key) == parts_of(live)
    # Declaring the length (an empty last PATCH) needs no room, and what is reserved is finished.
    closing = await patch(client, location, 3000, b"", length=3000)
    assert closing.status_code != 413
    whole = await client.patch(first.json()["location"], content=video, headers={
        **api(client), "content-type": "application/offset+octet-stream", "upload-offset": "0",
        "tus-resumable": "1.0.0"})
    assert whole.status_code == 204 and whole.headers["upload-state"] == "complete", whole.text
    assert store.exists(tk, (await TenantScope(tenant.id).get(Recording, first.json()["id"])).blob_key)

    # The same refusal in Japanese for a Japanese-speaking uploader.
    client.cookies.clear()
    ja_setup = await make_interview(tenant, make_user, language="ja")
    await consent(tenant, ja_setup["interviewee"])
    await join(client, tenant, ja_setup["interviewee"], ja_setup["interview"])
    ja = await create(client, tenant, ja_setup["interview"], 6000)
    assert ja.status_code == 413 and "録画の保存容量が足りません" in ja.json()["detail"]


async def test_admins_see_the_storage_use_and_operators_set_a_tenants_limit(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="en")
    await login(client, tenant, admin)
    billing = await client.get(f"/t/{tenant.slug}/billing/", headers=HTML)
    assert billing.status_code == 200
    default_gb = client.app.state.settings.tenant_storage_quota_bytes / 1024**3
    assert f"Storage for recordings: 0.0 GB of {default_gb:.1f} GB" in billing.text
    client.cookies.clear()

    operator = await make_user(None, "operator", language="en")
    await login(client, None, operator)
    page = f"/ops/tenants/{tenant.slug}"
    shown = await client.get(page, headers=HTML)
    bad = await client.post(f"{page}/storage-quota", headers=HTML,
                            data={"quota_gb": "-3", "_csrf_token": form_csrf(shown.text)})
    assert bad.status_code == 400 and "from 0.1 to 1,000,000, or leave it empty" in bad.text
    assert (await Tenant.objects().where(Tenant.id == tenant.id).first()).storage_quota_bytes is None
    saved = await client.post(f"{page}/storage-quota", headers=HTML, follow_redirects=False,
                              data={"quota_gb": "2.5", "_csrf_token": form_csrf(shown.text)})
    assert saved.status_code == 303
    assert (await Tenant.objects().where(Tenant.id == tenant.id).first()).storage_quota_bytes == int(2.5 * 1024**3)
    assert "0.0 GB of 2.5 GB in use" in (await client.get(page, headers=HTML)).text
