"""Tables of the interviews domain; every row carries `tenant` (reach them through TenantScope)."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigInt, Boolean, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.db.tables import Tenant, User

INTERVIEW_KINDS = ("live", "self")
INTERVIEW_STATES = ("scheduled", "in_progress", "recorded", "evaluated", "analysed", "cancelled")
# A recording's states (Recording.state, which says what each means).
RECORDING_STATES = ("uploading", "received", "complete", "refused", "superseded", "abandoned", "expired")


class JoinLink(Table, tablename="mendan_join_link"):
    """A personal link that signs an interviewee in without a password; only its hash is kept."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    user = ForeignKey(references=User, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())


class QuestionSet(Table, tablename="mendan_question_set"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    name = Varchar(length=200)
    latest_number = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class QuestionSetVersion(Table, tablename="mendan_question_set_version"):
    """An unchangeable version of a question set: interviews and evaluations point at one."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    question_set = ForeignKey(references=QuestionSet, index=True)
    number = Integer()
    # [{"text", "follow_ups": bool, "time_limit_s": int, "recorded": bool}], in order
    questions = JSON(default=[])
    # [{"key", "name", "description", "scale_min", "scale_max", "required": bool}]
    items = JSON(default=[])
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Interview(Table, tablename="mendan_interview"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    title = Varchar(length=200, default="")
    kind = Varchar(length=8, default="live")
    starts_at = Timestamptz()  # UTC; entered and shown in Asia/Tokyo
    duration_minutes = Integer(default=60)
    interviewer = ForeignKey(references=User, null=True, index=True)
    interviewee = ForeignKey(references=User, index=True)
    experts = JSON(default=[])  # ids of the expert evaluators
    question_set_version = ForeignKey(references=QuestionSetVersion)
    state = Varchar(length=16, default="scheduled", index=True)
    sequence = Integer(default=0)  # iCalendar SEQUENCE: bumped on every change mailed out
    reminder_sent_at = Timestamptz(null=True, default=None)
    # The interviewee said they were done (a self-interview's finish): no new recordings after it.
    finished_at = Timestamptz(null=True, default=None)
    # The bulk import (InterviewImport.id) that brought this past interview in; None: held here.
    imported_from = UUID(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Recording(Table, tablename="mendan_recording"):
    """One uploaded video: chunks arrive at `offset` until `size`, then the whole is checked.

    An interview has one or more: the segments of a live interview (a reconnect starts a new
    one), or one answer per question in a self-interview (`question_key`). `sequence`
    numbers them in the order they were started (0, 1, ...).
    """

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview = ForeignKey(references=Interview, index=True)
    question_key = Varchar(length=63, null=True, default=None)
    sequence = Integer(default=0)
    uploaded_by = ForeignKey(references=User, null=True)
    filename = Varchar(length=255, default="")
    container = Varchar(length=8)  # webm | mp4
    size = BigInt()
    upload_offset = BigInt(default=0)
    parts = JSON(default=[])  # blob keys of the chunks received so far, in order
    sha256 = Varchar(length=64)
    # uploading | received (all bytes in, being joined) | complete | refused | superseded (by a retake) |
    # abandoned (the live interview was ended before it finished) | expired (no chunk for
    # MENDAN_UPLOAD_EXPIRY_HOURS); `error` says why
    state = Varchar(length=16, default="uploading", index=True)
    error = Text(default="")
    blob_key = Varchar(length=255, default="")
    duration_s = Real(null=True, default=None)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    video_codec = Varchar(length=32, default="")  # FFmpeg's name ("h264", "vp8", "mpeg4"); "" if unknown
    created_at = Timestamptz(default=TimestamptzNow())
    received_at = Timestamptz(null=True, default=None)  # all bytes in (state received); core.interviews.completion
    last_chunk_at = Timestamptz(null=True, default=None)  # when a chunk was last accepted; None: none yet
    completed_at = Timestamptz(null=True, default=None)
    announced_at = Timestamptz(null=True, default=None)  # mendan_recording_completed fired


class Evaluation(Table, tablename="mendan_evaluation"):
    """One evaluator's scores for one interview, against the question set version it used."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview = ForeignKey(references=Interview, index=True)
    evaluator = ForeignKey(references=User, index=True)
    evaluator_role = Varchar(length=16)  # interviewer | expert | admin
    question_set_version = ForeignKey(references=QuestionSetVersion)
    scores = JSON(default={})  # item key -> integer score
    comment = Text(default="")
    locked = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())


class MailSender(Table, tablename="mendan_mail_sender"):
    """The tenant's sender address and DKIM selector; the private key lives encrypted in the blob store."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, unique=True, index=True)
    address = Varchar(length=254)
    selector = Varchar(length=63)
    public_key = Text()  # base64 DER SubjectPublicKeyInfo, as published in the DKIM TXT record
    created_at = Timestamptz(default=TimestamptzNow())


class InterviewImport(Table, tablename="mendan_interview_import"):
    """One bulk import of past interviews (core.interviews.import_run): a checked CSV, its videos
    staged in the blob store (ImportVideo), then the job `core.import_interviews` that makes the interviews."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    created_by = ForeignKey(references=User, null=True)
    filename = Varchar(length=255, default="")
    # Where the admin says consent to recording and training was obtained (kept on each consent record).
    consent_source = Text(default="")
    state = Varchar(length=16, default="checked", index=True)  # checked | queued | running | done | failed
    rows = JSON(default=[])  # the checked rows, as ImportRow.as_json gives them
    job = UUID(null=True, default=None)
    interviews = Integer(default=0)  # how many the job made
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class ImportVideo(Table, tablename="mendan_import_video"):
    """One video of a bulk import on its way in through the resumable upload (tus, as a
    Recording's: chunks arrive at `upload_offset` until `size`, then the whole is checked); once
    complete, InterviewImport.videos names its blob for the CSV's file `name`."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview_import = ForeignKey(references=InterviewImport, index=True)
    name = Varchar(length=255)  # the file name the CSV's `video` column gives
    size = BigInt()
    upload_offset = BigInt(default=0)
    parts = JSON(default=[])  # blob keys of the chunks received so far, in order
    sha256 = Varchar(length=64)
    state = Varchar(length=16, default="uploading")  # uploading | complete | refused
    error = Text(default="")
    blob_key = Varchar(length=255, default="")
    created_at = Timestamptz(default=TimestamptzNow())
