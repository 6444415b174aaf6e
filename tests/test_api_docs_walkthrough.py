"""docs/api.md's "A whole flow" runs as written (issue 18, item 4): its httpx script and its curl
block, each against the app served by uvicorn with an admin token and a real video, so the
documentation cannot drift from the API. Both stop once the upload's analysis has finished (the
rest of the flow is tests/test_api_flow.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from core.auth.tokens import create_api_token
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from tests.test_api_flow import analysed_env, clip, host, receiver  # noqa: F401  (fixtures)
from tests.test_face_features import models  # noqa: F401

DOC = Path(__file__).parent.parent / "docs" / "api.md"


def flow_block(language: str) -> str:
    """The first ```{language} block of the section "A whole flow"."""
    section = DOC.read_text(encoding="utf-8").split("\n## A whole flow\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_the_section_has_both_blocks():
    assert "api.post(" in flow_block("python") and "curl " in flow_block("sh")


async def _tenant_with_token(make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    return tenant, await create_api_token(admin, "docs", scope="admin")


@pytest.mark.whole_pipeline
async def test_the_httpx_script_runs_as_written(app, live_server, make_tenant, make_user, analysed_env, tmp_path):  # noqa: F811
    import numpy as np

    tenant, token = await _tenant_with_token(make_tenant, make_user)
    video, _scores = clip(tmp_path, 0, np.random.default_rng(4))
    script = tmp_path / "flow.py"
    script.write_text(flow_block("python"), encoding="utf-8")
    env = {**os.environ, "MENDAN_API": f"{live_server}/api/v1/t/{tenant.slug}", "MENDAN_TOKEN": token,
           "VIDEO": str(video)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "analysed by ['face_features'] with" in done.stdout
    [interview] = await TenantScope(tenant.id).objects(Interview)
    assert interview.state == "analysed"


@pytest.mark.whole_pipeline
async def test_the_curl_block_runs_as_written(app, live_server, make_tenant, make_user, analysed_env, receiver,  # noqa: F811
                                              tmp_path):
    import numpy as np

    for tool in ("bash", "curl", "jq", "openssl", "sha256sum"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tenant, token = await _tenant_with_token(make_tenant, make_user)
    video, _scores = clip(tmp_path, 0, np.random.default_rng(5))
    env = {**os.environ, "API": f"{live_server}/api/v1/t/{tenant.slug}", "TOKEN": token, "VIDEO": str(video),
           "WEBHOOK_URL": receiver.url}
    done = subprocess.run(["bash", "-c", flow_block("sh")], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) > 0  # the analysed interview's features
    secret = (tmp_path / "webhook-secret.txt").read_text().strip()
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert [p["type"] for p in payloads] == ["analysis.finished"]
