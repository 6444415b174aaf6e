"""Background jobs on the embedded broker (core/tasks.py): the Job row, retries, progress,
the job page's event stream, structlog context per job, and jobs that outlive the process."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import replace

import pytest
import structlog
from litestar.testing import AsyncTestClient

from mendan.app import create_app
from core.db.tables import Job, Tenant
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.tasks import JobRefused, report_progress
from tests.conftest import login, wait_for_job

GATES: dict[str, threading.Event] = {}
CALLS: dict[str, int] = {}


def ok(tenant_id, n):
    report_progress(50, "half way")
    return f"sum {n}"


def echo(tenant_id, **kwargs):
    return json.dumps({"tenant_id": tenant_id, **kwargs}, sort_keys=True)


def gated(tenant_id, gate):
    report_progress(30, "waiting at the gate")
    if not GATES[gate].wait(timeout=30):
        raise RuntimeError("the gate never opened")
    report_progress(60, "through the gate")
    return "gated done"


def flaky(tenant_id, token, failures):
    CALLS[token] = CALLS.get(token, 0) + 1
    if CALLS[token] <= failures:
        raise RuntimeError(f"boom {CALLS[token]}")
    return f"worked on call {CALLS[token]}"


def refused(tenant_id, token):
    CALLS[token] = CALLS.get(token, 0) + 1
    raise JobRefused("too little data to train")


def context(tenant_id):
    seen = structlog.contextvars.get_contextvars()
    structlog.contextvars.bind_contextvars(leak="from an earlier job")  # must not reach the next job
    return json.dumps(seen, default=str)


async def counts_tenants(tenant_id):
    report_progress(40, "counting")
    await asyncio.sleep(0.01)
    return f"{await Tenant.count()} tenants"


class Steps:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="steps", name_ja="手順", name_en="Steps", version="1.0", kind="basic", hours="batch")

    @hookimpl
    def mendan_actors(self):
        return {"ok": ok, "echo": echo, "gated": gated, "flaky": flaky, "refused": refused, "context": context,
                "counts_tenants": counts_tenants}


@pytest.fixture
def fast(settings):
    """Two retries, 20 ms apart, so failing jobs finish quickly."""
    return replace(settings, job_max_retries=2, job_min_backoff_ms=20)


@pytest.fixture
def app(fast, host):
    host.register(Steps(), key="steps")
    return create_app(fast, host=host)


async def test_a_job_goes_from_queued_to_done(app, client, make_tenant):
    tenant = await make_tenant()
    job_id = await app.state.tasks.enqueue("steps.ok", tenant_id=tenant.id, n=7)
    job = await wait_for_job(job_id)
    assert (job.state, job.progress, job.result_ref, job.error) == ("done", 100, "sum 7", "")
    assert job.message == "half way"
    assert job.attempts == 1 and job.tenant == tenant.id and job.actor == "steps.ok"
    assert job.started_at is not None and job.finished_at >= job.started_at >= job.created_at


async def test_arguments_travel_as_json(app, client, make_tenant):
    tenant = await make_tenant()
    interview = uuid.uuid4()
    job_id = await app.state.tasks.enqueue("steps.echo", tenant_id=tenant.id, interview_id=interview,
                                           labels=["a", "b"], depth={"n": 1})
    job = await wait_for_job(job_id)
    assert json.loads(job.result_ref) == {"tenant_id": str(tenant.id), "interview_id": str(interview),
                                          "labels": ["a", "b"], "depth": {"n": 1}}
    before = await Job.count().where(Job.actor == "steps.echo")
    with pytest.raises(TypeError, match="JSON"):
        await app.state.tasks.enqueue("steps.echo", tenant_id=tenant.id, when=object())
    assert await Job.count().where(Job.actor == "steps.echo") == before
    with pytest.raises(KeyError):
        await app.state.tasks.enqueue("steps.nothing", tenant_id=tenant.id)


async def test_an_async_actor_runs_and_reaches_the_database(app, client, make_tenant):
    tenant = await make_tenant()
    job = await wait_for_job(await app.state.tasks.enqueue("steps.counts_tenants", tenant_id=tenant.id))
    assert job.state == "done" and job.result_ref == f"{await Tenant.count()} tenants"


async def test_a_failing_actor_is_retried_then_fails_with_its_error(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    job = await wait_for_job(await app.state.tasks.enqueue("steps.flaky", tenant_id=tenant.id, token=token,
                                                           failures=99))
    assert CALLS[token] == 3  # the first run and two retries
    assert (job.state, job.attempts, job.error) == ("failed", 3, "RuntimeError: boom 3")
    assert job.finished_at is not None


async def test_a_retry_that_works_clears_the_error(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    job = await wait_for_job(await app.state.tasks.enqueue("steps.flaky", tenant_id=tenant.id, token=token,
                                                           failures=1))
    assert (job.state, job.attempts, job.error, job.result_ref) == ("done", 2, "", "worked on call 2")


async def test_a_refused_job_fails_at_once(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    job = await wait_for_job(await app.state.tasks.enqueue("steps.refused", tenant_id=tenant.id, token=token))
    assert CALLS[token] == 1
    assert (job.state, job.error) == ("failed", "JobRefused: too little data to train")


async def test_progress_is_visible_while_running_and_streamed_to_the_job_page(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "interviewer")
    gate = uuid.uuid4().hex
    GATES[gate] = threading.Event()
    job_id = await app.state.tasks.enqueue("steps.gated", tenant_id=tenant.id, gate=gate)
    for _ in range(200):
        job = await Job.objects().where(Job.id == job_id).first()
        if job.progress == 30:
            break
        await asyncio.sleep(0.05)
    assert (job.state, job.progress, job.message) == ("running", 30, "waiting at the gate")

    await login(client, tenant, user)
    page = await client.get(f"/t/{tenant.slug}/jobs/{job_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and f"/t/{tenant.slug}/jobs/{job_id}/events" in page.text
    # The test client hands back the stream once it ends, so the gate opens from another thread.
    threading.Timer(1.2, GATES[gate].set).start()
    events = await client.get(f"/t/{tenant.slug}/jobs/{job_id}/events")
    assert events.status_code == 200
    assert events.headers["content-type"].startswith("text/event-stream")
    states = [json.loads(line[len("data: "):]) for line in events.text.splitlines() if line.startswith("data: ")]
    assert states[0] == {"state": "running", "progress": 30, "message": "waiting at the gate", "error": "",
                         "detail": ""}
    assert states[-1]["state"] == "done" and states[-1]["progress"] == 100
    progress = [s["progress"] for s in states]
    assert progress == sorted(progress) and len(states) >= 2


async def test_another_tenant_cannot_follow_the_job(app, client, make_tenant, make_user):
    tenant, other = await make_tenant(), await make_tenant()
    job = await wait_for_job(await app.state.tasks.enqueue("steps.ok", tenant_id=tenant.id, n=1))
    await login(client, other, await make_user(other, "admin"))
    assert (await client.get(f"/t/{other.slug}/jobs/{job.id}/events")).status_code == 404
    assert (await client.get(f"/t/{other.slug}/jobs/{job.id}", headers={"accept": "text/html"})).status_code == 404


async def test_log_context_is_cleared_per_job_and_carries_the_job_id(app, client, make_tenant):
    tenant = await make_tenant()
    # Four jobs one after the other on two worker threads: a thread is reused at least twice.
    for _ in range(4):
        job_id = await app.state.tasks.enqueue("steps.context", tenant_id=tenant.id)
        job = await wait_for_job(job_id)
        seen = json.loads(job.result_ref)
        assert seen == {"job_id": str(job_id), "actor": "steps.context", "tenant_id": str(tenant.id)}


async def test_jobs_survive_a_restart_of_the_embedded_process(fast, host, make_tenant):
    host.register(Steps(), key="steps")
    tenant = await make_tenant()
    # The first process stops before its worker ever ran: its in-memory broker forgets the message.
    first = create_app(fast, host=host)
    queued = await first.state.tasks.enqueue("steps.ok", tenant_id=tenant.id, n=1)
    first.state.tasks.stop()
    # Rows as a process killed mid-job leaves them.
    cut_off = Job(id=uuid.uuid4(), tenant=tenant.id, actor="steps.ok", args={"n": 2}, state="running", attempts=1)
    crashing = Job(id=uuid.uuid4(), tenant=tenant.id, actor="steps.ok", args={"n": 3}, state="running", attempts=3)
    removed = Job(id=uuid.uuid4(), tenant=tenant.id, actor="gone.task", args={}, state="queued")
    for row in (cut_off, crashing, removed):
        await Job.insert(row)
    assert (await Job.objects().where(Job.id == queued).first()).state == "queued"

    second = create_app(fast, host=host)
    async with AsyncTestClient(second):
        done = await wait_for_job(queued)
        resumed = await wait_for_job(cut_off.id)
    assert (done.state, done.result_ref) == ("done", "sum 1")
    assert (resumed.state, resumed.result_ref, resumed.attempts) == ("done", "sum 2", 2)
    gave_up = await Job.objects().where(Job.id == crashing.id).first()
    assert gave_up.state == "failed" and "stopped during all 3 attempts" in gave_up.error
    gone = await Job.objects().where(Job.id == removed.id).first()
    assert (gone.state, gone.error) == ("failed", "actor no longer installed")


async def test_progress_message_is_shown_in_the_viewers_language(app, client, make_tenant, make_user):
    # An actor reports an English msgid; a Japanese admin used to read it untranslated.
    tenant = await make_tenant()
    job = Job(id=uuid.uuid4(), tenant=tenant.id, actor="conversation_analysis.lift", args={}, state="running",
              progress=5, message="collecting the training material", attempts=1)
    await Job.insert(job)
    await login(client, tenant, await make_user(tenant, "admin"))
    url = f"/t/{tenant.slug}/jobs/{job.id}"
    for language, shown in (("ja", "学習素材を集めています"), ("en", "collecting the training material")):
        await client.get(f"/lang/{language}?next=/")
        page = await client.get(url, headers={"accept": "text/html"})
        assert f'<span id="job-message">{shown}</span>' in page.text
        await Job.update({Job.state: "done"}).where(Job.id == job.id)
        events = await client.get(f"{url}/events")
        states = [json.loads(line[len("data: "):]) for line in events.text.splitlines() if line.startswith("data: ")]
        assert states[0]["message"] == shown
        await Job.update({Job.state: "running"}).where(Job.id == job.id)
