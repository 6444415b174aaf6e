"""Running every app's migrations forwards: the platform's, then those of the domains and
installed plugins that the host answers `mendan_piccolo_apps` with."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry

from core.config import Settings
from core.db.engine import bind_engine, make_engine
from core.plugins import PluginHost

PICCOLO_CONF = "core.db.piccolo_conf"


def app_registry(host: PluginHost) -> AppRegistry:
    """The platform's piccolo app and every app the host's domains and plugins bring."""
    from core.db.piccolo_conf import PLATFORM_APP

    return AppRegistry(apps=[PLATFORM_APP, *host.piccolo_apps()])


async def migrate(settings: Settings, host: PluginHost) -> None:
    """Migrate the settings' database forwards; RuntimeError with piccolo's message on failure."""
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration  # noqa: F401  (bound below with the rest)

    from core.db import piccolo_conf

    bind_engine(make_engine(settings))
    piccolo_conf.APP_REGISTRY = app_registry(host)
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
