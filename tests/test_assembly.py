"""The assembly joins the domains to the platform through doors the core defines: the domains'
hook implementations on the host, the usage sink, the consent register."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from uuid import uuid4

import pytest

from core import consent, usage
from core.plugins import PluginHost
from mendan.assembly import assemble


async def test_the_interviews_navigation_comes_through_the_hook_for_any_tenant():
    host = assemble(PluginHost())
    tenant = SimpleNamespace(id=uuid4(), slug="t")
    answers = await host.call_for_tenant("mendan_nav_items", tenant=tenant,
                                         user=SimpleNamespace(role="admin"))
    paths = {item.path for _name, items in answers for item in items}
    assert {"interviews", "people", "question-sets", "mail"} <= paths
    interviewee = await host.call_for_tenant("mendan_nav_items", tenant=tenant,
                                             user=SimpleNamespace(role="interviewee"))
    assert {item.path for _name, items in interviewee for item in items} == {"interviews", "attributes/me"}
    assert not host.metas  # a domain is no plugin: nothing to switch on or off


def test_assembling_twice_registers_each_domain_once():
    host = assemble(assemble(PluginHost()))
    assert sorted(host.piccolo_apps()) == ["billing.piccolo_app", "core.interviews.attributes.piccolo_app",
                                           "core.interviews.piccolo_app", "core.webhooks.piccolo_app",
                                           "tenants.piccolo_app"]


async def test_without_the_assembly_the_doors_say_so(monkeypatch):
    monkeypatch.setattr(usage, "_sink", None)
    monkeypatch.setattr(consent, "_register", None)
    with pytest.raises(RuntimeError, match="mendan.assembly"):
        await usage.record_usage("t", "hello.greetings", 1, act="x")
    with pytest.raises(RuntimeError, match="mendan.assembly"):
        await consent.has_consented("t", "u", "recording")


def test_importing_the_piccolo_configuration_loads_no_plugin_and_no_domain():
    probe = ("import json, sys; from core.db import piccolo_conf; "
             "print(json.dumps({'apps': [a.app_name for a in piccolo_conf.APP_REGISTRY.app_configs.values()], "
             "'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('plugins', 'tenants', 'billing', 'mendan') "
             "or m.startswith(('core.interviews', 'core.webhooks')))}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"apps": ["mendan_core"], "loaded": []}


def test_every_table_finds_the_engine_after_create_app_without_piccolo_conf(tmp_path):
    # `mendan serve` sets no PICCOLO_CONF; tables imported while the routes are gathered (after
    # the engine is bound) must still find it, or their pages answer 500 (ai_model, ethics_*).
    probe = ("from mendan.app import create_app; create_app(); "
             "from core.db.engine import _all_tables; "
             "[t._meta.db for t in _all_tables()]; print('ok')")
    env = {k: v for k, v in __import__("os").environ.items() if k != "PICCOLO_CONF"}
    env["MENDAN_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
