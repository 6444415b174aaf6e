"""Object-level access by participation (issue 21, item 1), read off the assembled app's routes so
a route added later cannot be forgotten:

- every tenant route with an id in its path (pages, downloads, REST API, media, streams; core
  and every installed plugin) is either interview-scoped — it names an interview, or reaches one
  through a recording, evaluation or prediction — or declared here as not interview-scoped, with
  the reason;
- every interview-scoped route is asked by every role (admin, interviewer, expert, interviewee,
  operator) for an interview the person takes part in (own), one of the same tenant they take no
  part in (not-mine) and one of another tenant (foreign): not-mine answers exactly as foreign,
  which answers as an interview that does not exist (404; 403 where the role may not use the
  route at all; 400 or 422 where the empty body is refused before any lookup); an admin reaches
  not-mine as own; and each route is reached (neither 403 nor 404) by someone for their own;
- every list and export of interviews' data shows no interview a non-admin takes no part in.

One app and one set of data per module (`world`); a role's whole row of the matrix is one test."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
from litestar.routes import HTTPRoute, WebSocketRoute

from core.auth.passwords import hash_password
from core.auth.tokens import TOKEN_ROLES, create_api_token, highest_scope_for
from core.config import use_settings
from core.db.tables import FeatureValue, User
from core.interviews.people import issue_join_link
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import schedule_interview
from core.interviews.tables import Evaluation, Recording
from core.interviews.transcripts import store_transcript
from core.plugins import PluginHost
from core.storage import BlobStore
from core.tenancy import TenantScope, create_tenant
from core.transcripts import Segment, Transcript
from mendan.pytest_plugin import BASE_URL, HTML, PASSWORD
from plugins.ai_model.tables import Prediction
from plugins.self_interview.flow import fixed_key
from tenants.consent import current_consent, record_consent
from tests.conftest import form_csrf, login
from tests.interview_fixtures import open_link

pytestmark = pytest.mark.sqlite_pass

METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")
PARAM = re.compile(r"\{(\w+):(\w+)\}")
NOT_FOUND = (400, 403, 404, 422)  # how an interview that does not exist may answer
ROLES = ("interviewee", "expert", "interviewer", "admin", "operator")

# The ids by which a route reaches an interview's data; each is made for every interview below.
INTERVIEW_IDS = {"interview_id", "recording_id", "evaluation_id", "prediction_id"}

# Routes with an id in their path that reach no interview's data, and why.
PEOPLE = "a person, not an interview (admins only, or the person themselves)"
ADMINS = "admins only, who see every interview of the tenant"
AGGREGATE = ("statistics over the tenant's interviews (attribute access: admins only), no interview's data "
             "one by one")
NOT_INTERVIEW_SCOPED = {
    "/t/{tenant:str}/password-reset/{token:str}": "signing in: shows nothing of the tenant",
    "/t/{tenant:str}/join/{token:str}": "signing in by a personal link: shows nothing of the tenant",
    "/t/{tenant:str}/tokens/{token_id:uuid}/revoke": "the signed-in person's own API token",
    "/t/{tenant:str}/jobs/{job_id:uuid}": "a job's task, state and progress (staff), never its interview",
    "/t/{tenant:str}/jobs/{job_id:uuid}/events": "a job's state and progress (staff), never its interview",
    "/api/v1/t/{tenant:str}/jobs/{job_id:uuid}": "a job's task, state and progress (staff), never its interview",
    "/t/{tenant:str}/people/{user_id:uuid}/join-link": PEOPLE,
    "/t/{tenant:str}/people/{user_id:uuid}/active": PEOPLE,
    "/api/v1/t/{tenant:str}/people/{person_id:uuid}": PEOPLE,
    "/t/{tenant:str}/attributes/people/{person_id:str}": PEOPLE,
    "/t/{tenant:str}/self_interview/accommodations/{user_id:uuid}": PEOPLE,
    "/t/{tenant:str}/question-sets/{set_id:uuid}": "a question set: questions and items, no interview",
    "/api/v1/t/{tenant:str}/question-sets/{set_id:uuid}": "a question set: questions and items, no interview",
    "/api/v1/t/{tenant:str}/question-sets/{set_id:uuid}/versions/{number:int}": "a question set's version",
    "/t/{tenant:str}/mail/failed/{job_id:uuid}/retry": ADMINS,
    "/t/{tenant:str}/mail/templates/{kind:str}/{language:str}": ADMINS,
    "/t/{tenant:str}/mail/templates/{kind:str}/{language:str}/reset": ADMINS,
    "/t/{tenant:str}/imports/{import_id:uuid}": ADMINS,
    "/t/{tenant:str}/imports/{import_id:uuid}/confirm": ADMINS,
    "/t/{tenant:str}/imports/{import_id:uuid}/uploads": ADMINS,
    "/t/{tenant:str}/imports/{import_id:uuid}/uploads/{video_id:uuid}": ADMINS,
    "/t/{tenant:str}/webhooks/{endpoint_id:uuid}": ADMINS,
    "/t/{tenant:str}/webhooks/{endpoint_id:uuid}/delete": ADMINS,
    "/t/{tenant:str}/webhooks/{endpoint_id:uuid}/rotate": ADMINS,
    "/t/{tenant:str}/webhooks/{endpoint_id:uuid}/active": ADMINS,
    "/t/{tenant:str}/webhooks/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/replay": ADMINS,
    "/api/v1/t/{tenant:str}/webhooks/{endpoint_id:uuid}": ADMINS,
    "/api/v1/t/{tenant:str}/webhooks/{endpoint_id:uuid}/rotate": ADMINS,
    "/api/v1/t/{tenant:str}/webhooks/{endpoint_id:uuid}/deliveries": ADMINS,
    "/api/v1/t/{tenant:str}/webhooks/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/replay": ADMINS,
    "/t/{tenant:str}/services/{key:str}/settings": ADMINS,
    "/t/{tenant:str}/ai_model/versions/{version_id:uuid}/activate": ADMINS,
    "/t/{tenant:str}/ai_model/versions/{version_id:uuid}/rescore": ADMINS,
    "/api/v1/t/{tenant:str}/ai_model/versions/{version_id:uuid}": "a model version: its items and metrics",
    "/api/v1/t/{tenant:str}/ai_model/versions/{version_id:uuid}/activate": ADMINS,
    "/t/{tenant:str}/ethics_prediction/snapshots/{snapshot_id:str}": AGGREGATE,
    "/t/{tenant:str}/ethics_prediction/snapshots/{snapshot_id:str}/pdf": AGGREGATE,
    "/t/{tenant:str}/ethics_prediction/snapshots/{snapshot_id:str}/csv": AGGREGATE,
    "/t/{tenant:str}/ethics_model/versions/{version_id:str}/analyse": AGGREGATE,
    "/t/{tenant:str}/ethics_model/reports/{report_id:str}": AGGREGATE,
    "/t/{tenant:str}/ethics_model/reports/{report_id:str}/pdf": AGGREGATE,
    "/t/{tenant:str}/ethics_model/reports/{report_id:str}/csv": AGGREGATE,
}
# Interview-scoped, but not HTTP: the live room's signalling socket lets in only the interview's
# interviewer and interviewee (`room.may_enter`), checked by tests/test_live_interview.py.
WEBSOCKETS = {"/t/{tenant:str}/live_interview/{interview_id:uuid}/signal"}
# Interview-scoped routes whose path also names a question's key: the matrix asks for the first.
KEYS = {"key"}

# Lists and exports of interviews' data without an id in their path: a non-admin sees in them
# only the interviews they take part in (the page or file names each interview by its id).
LISTS = (
    "/t/{tenant:str}/interviews",
    "/t/{tenant:str}/interviews/to-evaluate",
    "/api/v1/t/{tenant:str}/interviews",
    "/t/{tenant:str}/ai_model",
    "/t/{tenant:str}/ai_model/predictions.csv",
    "/api/v1/t/{tenant:str}/ai_model/predictions",
)
# Reports over interviews' data (statistics, no ids): over the interviews one takes part in.
REPORTS = ("/t/{tenant:str}/video_analysis", "/t/{tenant:str}/video_analysis/report.csv")
# Pages and files without an id in their path that show no interview's data, and why.
SCRIPT = "a static script"
ADMIN_PAGE = "admins only (tenant settings, mail, imports, analysis runs), who see every interview"
SHOWS_NO_INTERVIEW = {
    "/t/{tenant:str}/login": "signing in", "/t/{tenant:str}/password-reset": "signing in",
    "/t/{tenant:str}": "the tenant's home: links to the other pages",
    "/t/{tenant:str}/tokens": "the signed-in person's own API tokens",
    "/t/{tenant:str}/jobs": "jobs' tasks, states and progress (staff), never their interviews",
    "/api/v1/t/{tenant:str}/jobs": "jobs' tasks, states and progress (staff), never their interviews",
    "/t/{tenant:str}/people": PEOPLE, "/t/{tenant:str}/people/search": PEOPLE, "/api/v1/t/{tenant:str}/people": PEOPLE,
    "/t/{tenant:str}/attributes": PEOPLE, "/t/{tenant:str}/attributes/me": PEOPLE,
    "/t/{tenant:str}/self_interview/accommodations": PEOPLE,
    "/t/{tenant:str}/question-sets": "question sets", "/t/{tenant:str}/question-sets/new": "question sets",
    "/api/v1/t/{tenant:str}/question-sets": "question sets",
    "/t/{tenant:str}/interviews/new": "the form to schedule an interview",
    "/t/{tenant:str}/mail": ADMIN_PAGE, "/t/{tenant:str}/mail/log": ADMIN_PAGE,
    "/t/{tenant:str}/mail/templates": ADMIN_PAGE, "/t/{tenant:str}/imports": ADMIN_PAGE, "/t/{tenant:str}/analysis": ADMIN_PAGE,
    "/t/{tenant:str}/webhooks": ADMIN_PAGE, "/api/v1/t/{tenant:str}/webhooks": ADMIN_PAGE,
    "/t/{tenant:str}/services": ADMIN_PAGE, "/t/{tenant:str}/pretrained_model": ADMIN_PAGE,
    "/t/{tenant:str}/billing": ADMIN_PAGE, "/t/{tenant:str}/billing/invoice.csv": ADMIN_PAGE,
    "/api/v1/t/{tenant:str}/usage": "counts of use for the invoice (admins)",
    "/t/{tenant:str}/ethics_prediction": AGGREGATE, "/t/{tenant:str}/ethics_prediction/window": AGGREGATE,
    "/t/{tenant:str}/ethics_model": AGGREGATE,
    "/t/{tenant:str}/conversation_analysis": ("the AI model's accuracy per item with and without conversation "
                                              "features (Spearman, MAE), over the tenant: no interview's data"),
    "/api/v1/t/{tenant:str}/ai_model/versions": "model versions: their items and metrics",
    "/t/{tenant:str}/summary/summary.js": SCRIPT, "/t/{tenant:str}/speech/speech.js": SCRIPT,
    "/t/{tenant:str}/self_interview/flow.js": SCRIPT, "/t/{tenant:str}/live_interview/room.js": SCRIPT,
}


def interview_scoped(app) -> list[tuple[str, str]]:
    """(method, path) of every tenant route that reaches an interview by an id in its path."""
    found = []
    for route in app.routes:
        names = {name for name, _kind in PARAM.findall(route.path)}
        if isinstance(route, HTTPRoute) and names & INTERVIEW_IDS:
            found.extend((m, route.path) for m in sorted(route.methods) if m in METHODS)
    return found


async def test_every_route_with_an_id_is_interview_scoped_or_declared_not(world):
    unknown = []
    for route in world["app"].routes:
        names = {name for name, _kind in PARAM.findall(route.path)} - {"tenant"}
        if not route.path.startswith(("/t/", "/api/v1/t/")) or not names:
            continue
        if isinstance(route, WebSocketRoute):
            if route.path not in WEBSOCKETS:
                unknown.append(f"websocket {route.path}")
        elif names & INTERVIEW_IDS:
            if names - INTERVIEW_IDS - KEYS:
                unknown.append(f"{route.path}: an id the matrix cannot make ({names - INTERVIEW_IDS})")
        elif route.path not in NOT_INTERVIEW_SCOPED:
            unknown.append(f"{route.path}: neither interview-scoped nor declared not interview-scoped")
    assert not unknown, "\n".join(unknown)


# The example plugin's page (tests/example_plugin) is installed only in some environments.
EXAMPLES = {"/t/{tenant:str}/hello"}


async def test_every_page_and_file_without_an_id_is_a_filtered_list_or_shows_no_interview(world):
    unknown = []
    for route in world["app"].routes:
        names = {name for name, _kind in PARAM.findall(route.path)} - {"tenant"}
        if (isinstance(route, HTTPRoute) and "GET" in route.methods and not names
                and route.path.startswith(("/t/", "/api/v1/t/"))
                and route.path not in set(LISTS) | set(REPORTS) | set(SHOWS_NO_INTERVIEW) | EXAMPLES):
            unknown.append(route.path)
    assert not unknown, "neither a list filtered by participation nor declared to show no interview:\n" + \
        "\n".join(unknown)
    # Nothing declared that is not there any more.
    paths = {route.path for route in world["app"].routes}
    declared = set(NOT_INTERVIEW_SCOPED) | WEBSOCKETS | set(LISTS) | set(REPORTS) | set(SHOWS_NO_INTERVIEW)
    assert declared <= paths, declared - paths


async def _person(tenant, role: str) -> User:
    user = User(tenant=tenant.id if tenant is not None else None, email=f"{role}-{secrets.token_hex(4)}@example.jp",
                role=role, display_name=role, password_hash=hash_password(PASSWORD) if role != "interviewee" else None)
    await user.save()
    return user


async def _interviews(storage, tenant, people: dict[str, User]) -> dict[str, dict[str, Any]]:
    """A live interview and a self-interview of `people` (interviewer, expert, interviewee), each
    with a complete recording and its transcript, an expert's evaluation and an AI score:
    {"live"|"self": {param name: id}}. The interviewee has consented to being recorded."""
    scope = TenantScope(tenant.id)
    await record_consent(tenant.id, people["interviewee"].id, "recording",
                         (await current_consent(tenant.id, "recording")).version)
    version = await create_question_set(
        scope, name="Basics", author=people["admin"], questions=[Question(text="Tell us about yourself.")],
        items=[EvaluationItem(key="", name="Clarity", description="Speaks clearly")])
    made = {}
    for kind in ("live", "self"):
        starts_at = datetime.now(timezone.utc) + (timedelta(minutes=10) if kind == "live" else timedelta(0))
        interview = await schedule_interview(
            scope, kind=kind, starts_at=starts_at, interviewee_id=people["interviewee"].id,
            interviewer_id=people["interviewer"].id, expert_ids=[people["expert"].id], version_id=version.id,
            ends_at=starts_at + timedelta(days=7) if kind == "self" else None, check=False)
        blob_key = f"matrix/{secrets.token_hex(8)}.webm"
        with storage.writer(storage.tenant_key(tenant), blob_key) as blob:
            blob.write(b"\x1a\x45\xdf\xa3")  # what a WebM file starts with: enough to be played back
        recording = Recording(tenant=tenant.id, interview=interview.id, container="webm", size=4, upload_offset=4,
                              sha256="0" * 64, state="complete", blob_key=blob_key,
                              uploaded_by=people["interviewee"].id,
                              question_key=fixed_key(0) if kind == "self" else None)
        evaluation = Evaluation(tenant=tenant.id, interview=interview.id, evaluator=people["expert"].id,
                                evaluator_role="expert", question_set_version=version.id, scores={})
        prediction = Prediction(tenant=tenant.id, interview_id=interview.id, item_key="clarity", value=3.0, source="v1")
        face = FeatureValue(tenant=tenant.id, interview_id=interview.id, extractor="face_features",
                            extractor_version="matrix", name="smile_ratio", value=0.5)
        for row in (recording, evaluation, prediction, face):
            await row.save()
        await store_transcript(scope, recording.id, Transcript(
            language="ja", source="browser", segments=(Segment(start=0.0, end=2.0, text="自己紹介をします。",
                                                              speaker="interviewee"),)))
        made[kind] = {"interview_id": interview.id, "recording_id": recording.id, "evaluation_id": evaluation.id,
                      "prediction_id": prediction.id, "key": fixed_key(0)}
    return made


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(mendan_database):
    """One app with every installed plugin; tenant A with its people, their interviews (own) and
    interviews of other people (not-mine); tenant B with interviews (foreign)."""
    from litestar.testing import AsyncTestClient

    from mendan.app import create_app

    host = PluginHost()
    host.load_entry_points()
    app = create_app(use_settings(mendan_database), host=host)
    storage = BlobStore.from_settings(mendan_database)
    a = await create_tenant(storage, slug=f"t-{secrets.token_hex(4)}", name="Test KK")
    b = await create_tenant(storage, slug=f"t-{secrets.token_hex(4)}", name="Test KK")
    for key in host.metas:
        await host.set_enabled(a.id, key, True)
        await host.set_enabled(b.id, key, True)
    roles = ("admin", "interviewer", "expert", "interviewee")
    mine = {role: await _person(a, role) for role in roles}
    others = {role: await _person(a, role) for role in roles}
    foreigners = {role: await _person(b, role) for role in roles}
    async with AsyncTestClient(app, base_url=BASE_URL) as client:  # started: the transcripts queue their jobs
        operator = await _person(None, "operator")
        yield {"app": app, "client": client, "tenant": a, "people": mine | {"operator": operator},
               "own": await _interviews(storage, a, mine), "not-mine": await _interviews(storage, a, others),
               "foreign": await _interviews(storage, b, foreigners)}


def _url(path: str, slug: str, ids: dict[str, Any]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return slug if name == "tenant" else str(ids[name])

    return PARAM.sub(value, path)


async def _signed_in(world, role: str) -> tuple[str | None, str | None]:
    """Signs the role's person in; (CSRF token, API token or None where the role holds none)."""
    client, tenant, person = world["client"], world["tenant"], world["people"][role]
    client.cookies.clear()
    if role == "interviewee":
        # Interviewees sign in by their personal link only.
        token = await issue_join_link(TenantScope(tenant.id), person)
        assert (await open_link(client, f"/t/{tenant.slug}/join/{token}")).status_code in (302, 303)
    else:
        await login(client, None if role == "operator" else tenant, person)
    home = "/ops/" if role == "operator" else f"/t/{tenant.slug}/"
    csrf = form_csrf((await client.get(home, headers=HTML)).text) if role != "interviewee" else \
        client.cookies.get("csrftoken")
    api = await create_api_token(person, "matrix", scope=highest_scope_for(role)) if role in TOKEN_ROLES else None
    return csrf, api


def _order(route: tuple[str, str]) -> tuple[bool, str, str]:
    # Ending, finishing or cancelling changes what the other routes answer: those come last.
    method, path = route
    return (path.endswith(("/cancel", "/end", "/finish")), path, method)


async def _answers(world, role: str) -> dict[tuple[str, str], dict[str, int]]:
    """{(method, path): {"own"|"not-mine"|"foreign": status}} for the role, asked once per module."""
    done = world.setdefault("answers", {})
    if role in done:
        return done[role]
    client, slug = world["client"], world["tenant"].slug
    csrf, token = await _signed_in(world, role)
    answers_by_route = {}
    for method, path in sorted(interview_scoped(world["app"]), key=_order):
        api = path.startswith("/api/")
        if api and token is None:
            continue  # interviewees and operators hold no API tokens: the pages are the whole of it
        kind = "self" if "/self_interview/" in path else "live"
        headers = {"authorization": f"Bearer {token}"} if api else HTML | {"x-csrftoken": csrf or ""}
        answers = {}
        for slot in ("own", "not-mine", "foreign"):
            answer = await client.request(method, _url(path, slug, world[slot][kind]), headers=headers,
                                          json={} if api else None, follow_redirects=False)
            answers[slot] = answer.status_code
        answers_by_route[(method, path)] = answers
    done[role] = answers_by_route
    return answers_by_route


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_reaches_only_the_interviews_it_takes_part_in(world, role):
    wrong = []
    for (method, path), answers in (await _answers(world, role)).items():
        if answers["foreign"] not in NOT_FOUND:
            wrong.append(f"{method} {path}: foreign {answers['foreign']}")
        if role == "admin" and (answers["not-mine"] == 404) != (answers["own"] == 404):
            wrong.append(f"{method} {path}: an admin gets {answers['not-mine']} for another's, {answers['own']}")
        if role != "admin" and answers["not-mine"] != answers["foreign"]:
            wrong.append(f"{method} {path}: not-mine {answers['not-mine']}, foreign {answers['foreign']}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


async def test_every_interview_scoped_route_is_reached_by_someone_for_their_own(world):
    """The 404s of the matrix are about taking part: each route answers someone's own interview."""
    by_role = {role: await _answers(world, role) for role in ROLES}
    unreached = [f"{method} {path}" for method, path in interview_scoped(world["app"])
                 if all(by_role[role][(method, path)]["own"] in (403, 404)
                        for role in ROLES if (method, path) in by_role[role])]
    assert not unreached, "\n".join(unreached)


@pytest.mark.parametrize("role", ("expert", "interviewer", "admin"))
async def test_lists_and_exports_show_only_the_interviews_one_takes_part_in(world, role):
    client, slug = world["client"], world["tenant"].slug
    _csrf, token = await _signed_in(world, role)
    others = {str(ids["interview_id"]) for ids in world["not-mine"].values()}
    own = {str(ids["interview_id"]) for ids in world["own"].values()}
    shown_own = False
    for path in LISTS:
        url = path.replace("{tenant:str}", slug)
        headers = {"authorization": f"Bearer {token}"} if url.startswith("/api/") else HTML
        answer = await client.get(url, headers=headers)
        if answer.status_code in (403, 404):
            continue  # the role may not use this list at all
        assert answer.status_code == 200, (path, answer.status_code)
        shown_own = shown_own or any(i in answer.text for i in own)
        leaked = {i for i in others if i in answer.text}
        if role == "admin":
            continue
        assert not leaked, f"{role} sees {leaked} in {path}"
    assert shown_own, f"no list shows {role} their own interviews: the check above proves nothing"


@pytest.mark.parametrize("role", ("expert", "admin"))
async def test_reports_count_only_the_interviews_one_takes_part_in(world, role):
    """The video analysis report (admins and experts) is over the interviews one may see."""
    client, tenant = world["client"], world["tenant"]
    await _signed_in(world, role)
    analysed = {str(r["interview_id"]) for r in await FeatureValue.select(FeatureValue.interview_id).where(
        (FeatureValue.tenant == tenant.id) & (FeatureValue.extractor == "face_features")
        & FeatureValue.recording_id.is_null())}
    own = {str(ids["interview_id"]) for ids in world["own"].values()}
    expected = analysed if role == "admin" else analysed & own
    assert own <= expected and (role == "admin" or expected < analysed)  # others' interviews are analysed too
    answer = await client.get(f"/t/{tenant.slug}/video_analysis/", headers=HTML)
    assert answer.status_code == 200
    assert f'<strong id="interview-count">{len(expected)}</strong>' in answer.text
    assert (await client.get(f"/t/{tenant.slug}/video_analysis/report.csv")).status_code == 200
