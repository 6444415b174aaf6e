"""mendan's pytest plugin: fixtures for testing a plugin against a real mendan app.

Installed with mendan (entry point `pytest11`), so a plugin's own tests use them without a
conftest. The database is made once per test session (SQLite in a temporary folder, or a fresh
PostgreSQL database when MENDAN_TEST_POSTGRES=postgresql://user@host:port is set) and migrated
with every installed plugin's apps; each test gets a fresh app and makes its own tenants, so
tests never see each other's rows.

Fixtures:
    host          a fresh `PluginHost` with no plugins: register yours with
                  `host.register(module, key="hello")`
    app           the Litestar app built by `create_app` on that host (an embedded job worker)
    client        an async HTTP client for `app` (httpx, base URL http://testserver.local)
    make_tenant   `await make_tenant(name=..., slug=...)`: a tenant with its own data key
    make_user     `await make_user(tenant, role="admin", email=..., password=PASSWORD)`;
                  tenant None makes an operator
    login         `await login(client, tenant, user, password=PASSWORD)`: signs in through the
                  real sign-in form (tenant None: the operators' /login)
    mendan_settings, mendan_database   the session's settings and its migrated database

The plugin's tests need `asyncio_mode = "auto"` (pytest-asyncio) in their pytest configuration.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.config import Settings, use_settings
from core.plugins import PluginHost

PASSWORD = "correct-horse-battery"
HTML = {"accept": "text/html"}
BASE_URL = "http://testserver.local"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: data under `data_dir`, SQLite there unless `database_url` is given,
    a queue of its own."""
    values: dict[str, Any] = dict(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'mendan.sqlite'}",
        secret_key="test-secret-" + "x" * 40,
        queue_name=f"mendan_test_{secrets.token_hex(4)}",
    )
    values.update(overrides)
    return Settings(**values)


async def _postgres(server: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def mendan_settings():
    """The session's settings: a temporary data folder; SQLite, or a fresh PostgreSQL database
    (made here, dropped at the end) when MENDAN_TEST_POSTGRES names a server."""
    data_dir = Path(tempfile.mkdtemp(prefix="mendan-test-"))
    server = os.environ.get("MENDAN_TEST_POSTGRES", "").rstrip("/")
    if not server:
        yield use_settings(make_settings(data_dir))
        return
    name = f"mendan_test_{secrets.token_hex(4)}"
    asyncio.run(_postgres(server, f"CREATE DATABASE {name}"))
    yield use_settings(make_settings(data_dir, database_url=f"{server}/{name}"))
    asyncio.run(_postgres(server, f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def mendan_database(mendan_settings: Settings) -> Settings:
    """The session's database, migrated once: the core's apps and every installed plugin's."""
    from mendan.assembly import migrate

    asyncio.run(migrate(mendan_settings))
    return mendan_settings


@pytest.fixture
def host() -> PluginHost:
    return PluginHost()


@pytest.fixture
def app(mendan_database: Settings, host: PluginHost):
    from mendan.app import create_app

    return create_app(use_settings(mendan_database), host=host)


@pytest_asyncio.fixture
async def client(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def make_tenant(mendan_database: Settings):
    from core.storage import BlobStore
    from core.tenancy import create_tenant

    storage = BlobStore.from_settings(mendan_database)

    async def make(slug: str | None = None, **kw: Any):
        return await create_tenant(storage, slug=slug or f"t-{secrets.token_hex(4)}", name=kw.pop("name", "Test KK"),
                                   **kw)

    return make


@pytest.fixture
def make_user(mendan_database: Settings):
    from core.auth.passwords import hash_password
    from core.db.tables import User

    async def make(tenant: Any, role: str = "admin", email: str | None = None, password: str | None = PASSWORD,
                   **kw: Any):
        user = User(
            tenant=tenant.id if tenant is not None else None,
            email=email or f"{role}-{secrets.token_hex(4)}@example.jp",
            role=role,
            display_name=kw.pop("display_name", role),
            password_hash=hash_password(password) if password else None,
            **kw,
        )
        await user.save()
        return user

    return make


async def sign_in(client: Any, tenant: Any, user: Any, password: str = PASSWORD) -> Any:
    """Sign `user` in through the sign-in form of `tenant` (None: the operators' /login); returns
    the 302 answer, AssertionError when the sign-in is refused."""
    path = f"/t/{tenant.slug}/login" if tenant is not None else "/login"
    await client.get(path, headers=HTML)
    response = await client.post(
        path,
        data={"email": user.email, "password": password, "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return response


@pytest.fixture
def login():
    return sign_in
