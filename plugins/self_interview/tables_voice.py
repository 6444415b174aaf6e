"""The avatar's rendered speech, cached per tenant: one row per (voice, text) with the encrypted
audio in the tenant's blob store. The text itself is not kept (generated follow-ups quote the
interviewee's answer), only its SHA-256."""

from piccolo.columns import JSON, UUID, Float, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant


class SelfInterviewVoice(Table, tablename="self_interview_voice"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    text_sha256 = Varchar(length=64, index=True)  # of the text as spoken (after normalisation)
    voice = Varchar(length=40)  # e.g. openjtalk-mei_normal, piper-joe-us, espeak-ng-en-us
    blob_key = Varchar(length=200)
    media_type = Varchar(length=40)
    duration_s = Float()
    mouth = JSON(default=[])  # [[start_s, end_s, openness 0-1], ...]
    created_at = Timestamptz(default=TimestamptzNow())
