"""The core's tables: tenants, users, sessions, API tokens, jobs, audit log, plugin settings.

Every row that belongs to a tenant carries `tenant`; reach those rows through
`core.tenancy.TenantScope`, which cannot be built without a tenant.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ROLES = ("operator", "admin", "interviewer", "expert", "interviewee")


class Tenant(Table, tablename="mendan_tenant"):
    id = UUID(primary_key=True)
    slug = Varchar(length=63, unique=True, index=True)
    name = Varchar(length=200)
    region = Varchar(length=8, default="JP")
    status = Varchar(length=16, default="active")  # active | stopped
    # The tenant's data key, wrapped (AES-GCM) by the master key; see core.storage.
    wrapped_data_key = Text(default="")
    # Bytes of recordings the tenant may keep, as an operator set it; None: the settings' default.
    storage_quota_bytes = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="mendan_user"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, null=True, index=True)  # None for operators
    email = Varchar(length=254, index=True)
    display_name = Varchar(length=200, default="")
    role = Varchar(length=16)
    password_hash = Text(null=True, default=None)
    language = Varchar(length=8, default="ja")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebSession(Table, tablename="mendan_session"):
    """Server-side session data, behind Litestar's session middleware (core.auth.session_store)."""

    key = Varchar(length=128, unique=True, index=True)
    value = Text()
    expires_at = Timestamptz(null=True, default=None)
    # Whose session it is, so all of a user's sessions can be ended (after a password reset).
    user_id = UUID(null=True, default=None, index=True)


class ApiToken(Table, tablename="mendan_api_token"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, null=True, index=True)
    user = ForeignKey(references=User, index=True)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)
    # The highest scope granted (read < write < admin); a token made before scopes and expiries
    # existed has no expiry and is refused (core.auth.tokens).
    scope = Varchar(length=8, default="read")
    expires_at = Timestamptz(null=True, default=None)


class PasswordReset(Table, tablename="mendan_password_reset"):
    token_hash = Varchar(length=64, unique=True, index=True)
    user = ForeignKey(references=User, index=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class Job(Table, tablename="mendan_job"):
    """One background job: kept by core.tasks' middleware, shown on the job page."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, null=True, index=True)
    actor = Varchar(length=120)  # "{plugin_key}.{task}"
    args = JSON(default={})
    state = Varchar(length=16, default="queued", index=True)  # queued|running|done|failed
    progress = Integer(default=0)
    message = Text(default="")
    result_ref = Text(default="")
    error = Text(default="")
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    # The attempt running now: its worker ("host:pid:thread") stamps `heartbeat_at` every few seconds
    # and moves `lease_until` on; a running job past its lease has lost its worker (core/job_heartbeat.py).
    worker_id = Varchar(length=200, default="")
    heartbeat_at = Timestamptz(null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)  # its message reached the broker; empty: still in the outbox


class MailTemplate(Table, tablename="mendan_mail_template"):
    """A tenant's own text of one kind of mail in one language (core.mail_templates); without a
    row the shipped default is sent. One row per (tenant, kind, language)."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    kind = Varchar(length=40)
    language = Varchar(length=8)
    subject = Text()  # a Jinja2 template of one line
    body = Text()  # a Jinja2 template of the plain-text body
    updated_by = ForeignKey(references=User, null=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class MailContact(Table, tablename="mendan_mail_contact"):
    """Whom the tenant's mails name for questions and new dates (`{{ contact }}`)."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, unique=True, index=True)
    text = Text()


class AuditEntry(Table, tablename="mendan_audit"):
    tenant = ForeignKey(references=Tenant, null=True, index=True)
    actor = ForeignKey(references=User, null=True)
    action = Varchar(length=100, index=True)
    target = Varchar(length=200, default="")
    detail = JSON(default={})
    ip = Varchar(length=64, default="")
    at = Timestamptz(default=TimestamptzNow(), index=True)


class PluginSetting(Table, tablename="mendan_plugin_setting"):
    """Per-tenant plugin state (Saleor's PluginConfiguration): installed is not enabled."""

    tenant = ForeignKey(references=Tenant, index=True)
    plugin_key = Varchar(length=63, index=True)
    active = Boolean(default=False)
    config = JSON(default={})
    updated_at = Timestamptz(default=TimestamptzNow())


class FeatureValue(Table, tablename="mendan_feature_value"):
    """One named feature from one extractor version (see core.features).

    `recording_id` set: measured on that recording (`question_key` copied from it); NULL:
    the interview's value, aggregated over its recordings, which is what models read.
    """

    tenant = ForeignKey(references=Tenant, index=True)
    interview_id = UUID(index=True)
    recording_id = UUID(null=True, default=None, index=True)
    question_key = Varchar(length=63, null=True, default=None)
    extractor = Varchar(length=63)
    extractor_version = Varchar(length=32)
    name = Varchar(length=120)
    value = Real()
    # A retake replaced the recording: the row is kept but left out of every aggregate and reading.
    superseded = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class AnalysisRun(Table, tablename="mendan_analysis_run"):
    """One analysis of an interview: the extractor jobs started together (core.interviews.analysis).

    `finished` counts the jobs that succeeded or failed for good; the job whose count reaches
    `expected` (a conditional update, so exactly one) fires `mendan_interview_analysed`.
    """

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview_id = UUID(index=True)
    reason = Varchar(length=32, default="recording")  # recording | transcript | reanalysis
    expected = Integer(default=0)
    finished = Integer(default=0)
    announced_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AnalysisStep(Table, tablename="mendan_analysis_step"):
    """One extractor over one recording within an AnalysisRun: queued, then succeeded or failed."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    run = ForeignKey(references=AnalysisRun, index=True)
    recording_id = UUID(null=True, default=None)
    extractor = Varchar(length=63)
    state = Varchar(length=16, default="queued")  # queued | succeeded | failed
    job_id = UUID(null=True, default=None)


class TranscriptRecord(Table, tablename="mendan_transcript"):
    """One stored transcript of one recording (core.transcripts); the text itself is an
    encrypted blob. Every edit adds a revision; the original stays."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview_id = UUID(index=True)
    recording_id = UUID(index=True)
    question_key = Varchar(length=63, null=True, default=None)
    revision = Integer(default=1)
    language = Varchar(length=8)
    source = Varchar(length=120)
    blob_key = Varchar(length=255)
    edited_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class IdempotencyKey(Table, tablename="mendan_idempotency_key"):
    """A form submission or API call already received (`core.web.idempotency`): the same key
    again is answered from here instead of doing the work twice."""

    key = Varchar(length=64, unique=True, index=True)  # sha256 of owner, path and the client's key
    state = Varchar(length=8, default="pending")  # pending | done
    status = Integer(default=0)
    location = Varchar(length=2000, default="")
    # An API call's answer, replayed as it was (JSON, so small); forms only repeat their redirect.
    content_type = Varchar(length=100, default="")
    body = Text(default="")
    fingerprint = Varchar(length=64, default="")  # sha256 of an API request's body
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
