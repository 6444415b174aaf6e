"""piccolo's configuration module (PICCOLO_CONF points here): the engine and the apps.

`DB` is always the engine bound in `core.db.engine`. Importing this module loads no plugin
and names no domain: `APP_REGISTRY` holds the platform's own app until migrations run, when
`core.db.migrate` adds the apps of the domains and plugins the host answers with.
"""

from typing import Any

from piccolo.conf.apps import AppRegistry

from core.db.engine import current_engine

PLATFORM_APP = "core.db.piccolo_app"

APP_REGISTRY = AppRegistry(apps=[PLATFORM_APP])


def __getattr__(name: str) -> Any:
    # piccolo reads `DB` when a table first needs an engine: always the currently bound one.
    if name == "DB":
        return current_engine()
    raise AttributeError(name)
