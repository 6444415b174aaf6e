"""Joining the domains to the platform: what `create_app`, the worker, the CLI and
migrations share.

The core defines doors (the usage sink, the consent check, the hooks); the domains
(interviews, webhooks, tenants, billing) stand behind them. Only this package knows both sides,
so the core never imports a domain and a plugin reaches a domain only through the core.
"""

from __future__ import annotations

from core import consent, usage
from core.config import Settings
from core.db import migrate as db_migrate
from core.interviews import hooks as interview_hooks
from core.interviews.completion import sweep_recordings
from core.webhooks import hooks as webhook_hooks
from core.plugins import PluginHost, get_plugin_host
from core.sweeper import add_sweep_step
from billing import hooks as billing_hooks
from billing.ledger import record_usage
from tenants import consent as tenant_consent, hooks as tenant_hooks

DOMAINS = {"core.interviews": interview_hooks, "core.webhooks": webhook_hooks, "tenants": tenant_hooks,
           "billing": billing_hooks}


def assemble(host: PluginHost | None = None) -> PluginHost:
    """`host` (default: the process's, with the installed plugins) with the domains' hook
    implementations registered, the platform's doors pointed at the domains and their sweep
    steps registered (core.sweeper). Idempotent."""
    host = host or get_plugin_host()
    for name, hooks in DOMAINS.items():
        host.register_domain(hooks, name=name)
    usage.set_usage_sink(record_usage)
    consent.set_consent_register(tenant_consent)
    add_sweep_step(sweep_recordings)
    return host


async def migrate(settings: Settings, host: PluginHost | None = None) -> None:
    """Migrate forwards the platform, the domains and the host's plugins (default: the installed ones)."""
    await db_migrate.migrate(settings, assemble(host).piccolo_apps())
