"""piccolo's configuration for its own command line, with every app of the domains and the
installed plugins: `PICCOLO_CONF=mendan.piccolo_conf piccolo migrations new <app> --auto`.
(`mendan migrate` needs no configuration of its own: it uses `core.db.piccolo_conf`.)"""

from core.db.migrate import app_registry
from core.db.piccolo_conf import __getattr__  # noqa: F401  (DB: the bound engine)
from mendan.assembly import assemble

APP_REGISTRY = app_registry(assemble().piccolo_apps())
