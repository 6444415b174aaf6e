"""The `mendan` command, run as a user runs it: a process with its own data folder."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mendan.cli import DEMO_OPERATOR, DEMO_PASSWORD, DEMO_USERS
from core.db.tables import ROLES

MENDAN = [sys.executable, "-c", "from mendan.cli import main; main()"]


def mendan(data_dir: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MENDAN_DATA_DIR": str(data_dir), "MENDAN_BASE_URL": "http://127.0.0.1:8000"}
    for name in ("DATABASE_URL", "BROKER_URL", "MENDAN_ENV"):
        env.pop(name, None)
    done = subprocess.run([*MENDAN, *args], env=env, input=input, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def rows(data_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "mendan.sqlite") as db:
        return db.execute(sql).fetchall()


def test_migrate_twice_is_idempotent(tmp_path):
    first = mendan(tmp_path, "migrate")
    assert "migrated sqlite database" in first.stdout
    tables = rows(tmp_path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert ("mendan_tenant",) in tables and ("mendan_job",) in tables and ("migration",) in tables
    applied = rows(tmp_path, "SELECT name, app_name FROM migration ORDER BY name")
    second = mendan(tmp_path, "migrate")
    assert "migrated sqlite database" in second.stdout
    assert rows(tmp_path, "SELECT name, app_name FROM migration ORDER BY name") == applied
    assert rows(tmp_path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == tables


def test_demo_creates_one_user_per_role_and_says_how_to_sign_in(tmp_path):
    out = mendan(tmp_path, "demo", "--interviews", "0").stdout
    assert "http://127.0.0.1:8000/t/demo/login" in out and DEMO_PASSWORD in out
    for _role, email, _name in (*DEMO_USERS, DEMO_OPERATOR):
        assert email in out
    users = rows(tmp_path, "SELECT role, email FROM mendan_user ORDER BY role, email")
    assert {(role, email) for role, email, _name in (*DEMO_USERS, DEMO_OPERATOR)} <= set(users)
    assert {role for role, _email in users} == set(ROLES)

    again = mendan(tmp_path, "demo", "--interviews", "0").stdout
    assert "/t/demo/login" in again
    assert rows(tmp_path, "SELECT role, email FROM mendan_user ORDER BY role, email") == users
    assert rows(tmp_path, "SELECT count(*) FROM mendan_tenant WHERE slug = 'demo'") == [(1,)]


def test_createoperator_refuses_a_short_password(tmp_path):
    env = {**os.environ, "MENDAN_DATA_DIR": str(tmp_path)}
    done = subprocess.run([*MENDAN, "createoperator", "--email", "ops@example.jp", "--password", "short"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "10 characters" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sign_in(base: str, path: str, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, headers={"accept": "text/html"}) as http:
        http.get(path)
        return http.post(path, data={"email": email, "password": password,
                                     "_csrf_token": http.cookies["csrftoken"]})


@pytest.fixture
def served(tmp_path):
    """`mendan serve` on a free port over the data folder the test prepared."""
    port = _free_port()
    env = {**os.environ, "MENDAN_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([*MENDAN, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def wait() -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "mendan serve exited"
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.3)
        raise AssertionError("mendan serve did not answer /healthz within 60 s")

    yield wait
    process.terminate()
    process.wait(20)


def test_a_created_operator_and_the_demo_admin_can_sign_in(tmp_path, served):
    out = mendan(tmp_path, "createoperator", "--email", "Ops@Example.jp", "--password", "operator-pass-2026").stdout
    assert "operator ops@example.jp created" in out
    again = mendan(tmp_path, "createoperator", "--email", "ops@example.jp", "--password", "operator-pass-2026")
    assert "already exists" in again.stdout
    mendan(tmp_path, "demo", "--interviews", "0")
    base = served()

    signed_in = _sign_in(base, "/login", "ops@example.jp", "operator-pass-2026")
    assert signed_in.status_code == 302 and signed_in.headers["location"].startswith("/ops")
    refused = _sign_in(base, "/login", "ops@example.jp", "wrong-password-1")
    assert refused.status_code != 302

    admin = _sign_in(base, "/t/demo/login", "admin@demo.example", DEMO_PASSWORD)
    assert admin.status_code == 302 and admin.headers["location"].startswith("/t/demo/")
