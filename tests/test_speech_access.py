"""Who may reach the speech and summary routes: every route, every role. A user who may not read an
interview's transcript or summary gets 404, as for an id that does not exist or another tenant's,
so no answer tells that the object exists (never 403)."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest
from litestar.routes import HTTPRoute

from core.auth.passwords import hash_password
from core.db.tables import User
from core.interviews.api import Recording, store_transcript
from core.transcripts import Segment, Transcript
from plugins.speech import plugin as speech_plugin
from plugins.summary import plugin as summary_plugin
from tests.conftest import HTML, PASSWORD, login
from tests.interview_fixtures import make_interview

SAID = (Segment(0.0, 2.5, "前職では法人向けの営業を五年間担当していました。", 0.9),
        Segment(3.0, 5.0, "その結果、紹介による契約が二割増えました。", 0.8))


@pytest.fixture
def plugins(host):
    host.register(speech_plugin, key="speech")
    host.register(summary_plugin, key="summary")
    return host


def requests(slug: str, recording_id, interview_id) -> dict[tuple[str, str], tuple[str, str, dict]]:
    """Each speech and summary route (method, path pattern): (method, url, request options)."""
    rec = f"/t/{slug}/speech/recordings/{recording_id}"
    unchanged = {**{f"segment-{i}": s.text for i, s in enumerate(SAID)}, "revision": "1"}
    return {
        ("GET", "/t/{tenant:str}/speech/recordings/{recording_id:uuid}"): ("GET", rec, {}),
        ("GET", "/t/{tenant:str}/speech/recordings/{recording_id:uuid}/transcript.txt"):
            ("GET", f"{rec}/transcript.txt", {}),
        ("GET", "/t/{tenant:str}/speech/recordings/{recording_id:uuid}/captions.vtt"):
            ("GET", f"{rec}/captions.vtt?download=1", {}),
        ("POST", "/t/{tenant:str}/speech/recordings/{recording_id:uuid}/edit"):
            ("POST", f"{rec}/edit", {"data": unchanged}),
        ("POST", "/t/{tenant:str}/speech/recordings/{recording_id:uuid}/browser-transcript"):
            ("POST", f"{rec}/browser-transcript", {"json": {"results": "not a list"}}),
        ("GET", "/t/{tenant:str}/summary/interviews/{interview_id:uuid}"):
            ("GET", f"/t/{slug}/summary/interviews/{interview_id}", {}),
    }


# The answer each role gets: the interview's staff read and edit (an unchanged edit redirects); only
# the interviewee sends a browser transcript of their own recording (400: this one is malformed).
READ = {"admin": 200, "interviewer": 200, "expert": 200}
ALLOWED = {
    "GET /t/{tenant:str}/speech/recordings/{recording_id:uuid}": READ,
    "GET /t/{tenant:str}/speech/recordings/{recording_id:uuid}/transcript.txt": READ,
    "GET /t/{tenant:str}/speech/recordings/{recording_id:uuid}/captions.vtt": READ,
    "POST /t/{tenant:str}/speech/recordings/{recording_id:uuid}/edit":
        {"admin": 303, "interviewer": 303, "expert": 303},
    "POST /t/{tenant:str}/speech/recordings/{recording_id:uuid}/browser-transcript": {"interviewee": 400},
    "GET /t/{tenant:str}/summary/interviews/{interview_id:uuid}": READ,
}


async def test_every_speech_and_summary_route_answers_404_to_whoever_may_not_read_it(plugins, app, client,
                                                                                       make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self", experts=1)
    elsewhere = await make_interview(tenant, make_user, kind="self", experts=1)
    interviewee = setup["interviewee"]
    recording = await setup["scope"].add(Recording(
        id=uuid4(), interview=setup["interview"].id, container="webm", size=1, sha256="0" * 64, state="complete",
        blob_key=f"recordings/{setup['interview'].id}/q1.webm", filename="自己紹介.webm", uploaded_by=interviewee.id,
        completed_at=datetime.now(timezone.utc)))
    await store_transcript(setup["scope"], recording.id, Transcript("ja", "test", SAID))
    for person in (interviewee, elsewhere["interviewee"]):
        await User.update({User.password_hash: hash_password(PASSWORD)}).where(User.id == person.id)
    roles = {  # who: (user, the role whose allowance applies, or None for none)
        "admin": (setup["admin"], "admin"),
        "interviewer taking part": (setup["interviewer"], "interviewer"),
        "interviewer not taking part": (elsewhere["interviewer"], None),
        "expert of the interview": (setup["experts"][0], "expert"),
        "expert of another interview": (elsewhere["experts"][0], None),
        "interviewee of the interview": (interviewee, "interviewee"),
        "interviewee of another interview": (elsewhere["interviewee"], None),
    }
    routes = requests(tenant.slug, recording.id, setup["interview"].id)
    mounted = {(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
               and route.path.startswith(("/t/{tenant:str}/speech/", "/t/{tenant:str}/summary/"))
               and not route.path.endswith(".js") for method in route.methods if method in ("GET", "POST")}
    assert mounted == set(routes)  # a route added later must be added here

    wrong = []
    for who, (user, allowance) in roles.items():
        await login(client, tenant, user)
        token = client.cookies["csrftoken"]
        for (method, pattern), (verb, url, options) in routes.items():
            response = await client.request(verb, url, headers=HTML | {"x-csrftoken": token},
                                            follow_redirects=False, **options)
            expected = ALLOWED[f"{method} {pattern}"].get(allowance, 404)
            if response.status_code != expected:
                wrong.append(f"{who}: {verb} {url}: {response.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)
