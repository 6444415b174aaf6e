"""The live room's log: who joined and left when, when recording started and stopped, what arrived."""

from piccolo.columns import JSON, UUID, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.interviews.api import Interview
from core.tables import Tenant, User


class RoomEvent(Table, tablename="live_interview_room_event"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview = ForeignKey(references=Interview, index=True)
    user = ForeignKey(references=User, null=True)
    # joined | left | recording_started | recording_stopped | segment_completed | uploads_abandoned | ended
    kind = Varchar(length=24)
    detail = JSON(default={})  # role, recording id, bytes, duration
    at = Timestamptz(default=TimestamptzNow())
