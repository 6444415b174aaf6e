"""piccolo's configuration module (PICCOLO_CONF points here): the engine and every app.

The app list is the core's domains plus whatever installed plugins contribute
through `mendan_piccolo_apps`, so `mendan migrate` migrates them all.
"""

from piccolo.conf.apps import AppRegistry

from core.config import get_settings
from core.db.engine import make_engine

DB = make_engine(get_settings())

CORE_APPS = ["core.db.piccolo_app", "tenants.piccolo_app", "core.interviews.piccolo_app", "billing.piccolo_app",
             "core.attributes.piccolo_app"]


def _registry() -> AppRegistry:
    from core.plugins import get_plugin_host

    return AppRegistry(apps=[*CORE_APPS, *get_plugin_host().piccolo_apps()])


APP_REGISTRY = _registry()
