"""The result page shows what the face analysis measured: figures in words and a timeline."""

from __future__ import annotations

from core.interviews.analysis import extract_features
from tests.conftest import HTML, login
from tests.interview_fixtures import make_interview
from tests.test_face_features import clip, face_app, models  # noqa: F401  (fixtures: a 6 s clip, the verified models)


async def test_an_analysed_interview_shows_the_face_figures_and_timeline(face_app, client, make_tenant, make_user,  # noqa: F811
                                                                          storage, clip):  # noqa: F811
    tenant = await make_tenant(region="JP")
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    key = f"recordings/{interview.id}.mp4"
    storage.write_file(storage.tenant_key(tenant), key, clip)
    await extract_features(str(tenant.id), str(interview.id), "face_features", key)

    await login(client, tenant, setup["admin"])
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert page.status_code == 200
    panel = page.text[page.text.index('id="face-analysis"'):]
    # The clip has no face from 2 s to 3 s of its 6 s: five of six seconds in view.
    assert "顔が映っていたのは6秒中5秒（83%）です。" in panel
    assert "カメラを見ていた割合" in panel and "まばたき" in panel
    assert "<svg" in panel and panel.count("fill=\"#2e7d32\"") == 2  # two spans with a face, around the gap


async def test_an_interview_not_analysed_says_so(face_app, client, make_tenant, make_user):  # noqa: F811
    tenant = await make_tenant(region="JP")
    setup = await make_interview(tenant, make_user)
    await login(client, tenant, setup["admin"])
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)
    assert "顔の解析はまだ行われていません" in page.text
