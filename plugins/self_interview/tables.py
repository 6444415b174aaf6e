"""The self-interview's own rows: follow-up questions generated from answers, the interviewee's
accommodations, and when an interview was finished."""

from piccolo.columns import UUID, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.interviews.api import Interview, Recording
from core.tables import Tenant, User


class GeneratedQuestion(Table, tablename="self_interview_generated_question"):
    """A follow-up question generated from one answer; asked right after its source question.

    `key` is the source question's key and `.f1`, `.f2` (`q2.f1`): its answer is a recording with
    that question key."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview = ForeignKey(references=Interview, index=True)
    key = Varchar(length=63)
    source_key = Varchar(length=63)
    source_recording = ForeignKey(references=Recording, null=True)
    text = Text()
    reason = Text(default="")
    provider = Varchar(length=80, default="")
    source_phrase = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Accommodation(Table, tablename="self_interview_accommodation"):
    """What an admin granted one interviewee: longer thinking and answer times, more retakes."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interviewee = ForeignKey(references=User, index=True, unique=True)
    extra_time_factor = Real(default=1.0)  # thinking and answer times are multiplied by it (1.0-3.0)
    extra_retakes = Integer(default=0)  # added to each question's retakes (0-2)
    set_by = ForeignKey(references=User, null=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class Finished(Table, tablename="self_interview_finished"):
    """The interviewee finished the interview (every answer uploaded); one row per interview."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview = ForeignKey(references=Interview, index=True, unique=True)
    at = Timestamptz(default=TimestamptzNow())
