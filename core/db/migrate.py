"""Running every app's migrations forwards: the core's, then each installed plugin's."""

from __future__ import annotations

import os

from core.config import Settings
from core.db.engine import bind_engine, make_engine

PICCOLO_CONF = "core.db.piccolo_conf"


async def migrate(settings: Settings) -> None:
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration  # noqa: F401  (bound below with the rest)

    from core.db import piccolo_conf

    bind_engine(make_engine(settings))
    # Plugins registered after piccolo_conf was first imported (tests, examples) are included too.
    piccolo_conf.APP_REGISTRY = piccolo_conf._registry()
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
