"""The module a `dramatiq` worker process imports (`mendan worker` runs it): the broker
with every installed plugin's actors, on the configured database, and the sweeper."""

from core.config import get_settings
from core.db.engine import bind_engine, make_engine
from core.log_config import configure_logging
from core.runtime import Runtime, set_runtime
from core.storage import BlobStore
from core.sweeper import SweeperMiddleware
from core.tasks import TaskQueue
from mendan.actor_table import actor_table
from mendan.assembly import assemble

settings = get_settings()
if settings.broker_kind == "embedded":
    raise SystemExit("mendan worker needs BROKER_URL (redis://... or amqp://...); "
                     "the embedded default runs jobs inside `mendan serve`.")
configure_logging(settings.is_production, stdlib=False)  # the dramatiq command owns `logging` here
bind_engine(make_engine(settings))
host = assemble()
queue = TaskQueue(settings, actor_table(host))
set_runtime(Runtime(settings=settings, host=host, storage=BlobStore.from_settings(settings), tasks=queue))
queue.broker.add_middleware(SweeperMiddleware(queue))  # each worker process finishes what crashes left
broker = queue.broker
