"""Running every app's migrations forwards: the platform's, then those of the domains and
installed plugins (the apps the plugin host answers `mendan_piccolo_apps` with)."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry

from core.config import Settings
from core.db.engine import bind_engine, make_engine

PICCOLO_CONF = "core.db.piccolo_conf"


def app_registry(apps: list[str]) -> AppRegistry:
    """The platform's piccolo app and `apps` (dotted paths of piccolo app modules)."""
    from core.db.piccolo_conf import PLATFORM_APP

    return AppRegistry(apps=[PLATFORM_APP, *apps])


async def migrate(settings: Settings, apps: list[str]) -> None:
    """Migrate the settings' database forwards: the platform and `apps`, in the order of their
    dependencies; RuntimeError with piccolo's message on failure."""
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration  # noqa: F401  (bound below with the rest)

    from core.db import piccolo_conf

    bind_engine(make_engine(settings))
    piccolo_conf.APP_REGISTRY = app_registry(apps)
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
