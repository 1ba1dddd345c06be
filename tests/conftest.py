"""Shared fixtures.

- ``settings``: session-scoped and parametrised over ``sqlite`` and ``postgres`` (a fresh
  database on the real server at 127.0.0.1), so every API test runs against both.
- ``client``: an httpx-style Litestar AsyncTestClient on that app (lifespan running).
- ``api``: the client plus a *fresh workspace and key per test* (tenancy isolates tests).
- ``live_server``: the same app on a real uvicorn socket (for SSE and cross-process tests).
- ``make_settings(**env)``: build Settings for ad-hoc apps.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.auth.service import create_api_key
from pilot.db.migrate import upgrade
from pilot.settings import Settings
from tests.support.db import create_database, drop_database
from tests.support.servers import serve_in_thread

# Tests never talk to a real LLM or inherit a developer's keys.
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REDIS_URL", "DATABASE_URL"):
    os.environ.pop(_var, None)
# Generation runs inline in the apps (and `pilot serve` subprocesses) tests start: each of the
# hundreds of short-lived apps would otherwise start a forkserver and two generation processes a
# second after start-up. The pool itself is tested with real processes in
# tests/unit/test_generation_offload.py and through HTTP in tests/api/test_generation_pool.py.
os.environ.setdefault("PILOT_GENERATION_PROCESSES", "0")


def build_settings(data_dir: Path, db_url: str | None = None, **env: str) -> Settings:
    # Small pools: a test session runs several apps (client, live server, workers) against one
    # PostgreSQL whose max_connections is 100.
    values = {"PILOT_DATA_DIR": str(data_dir), "DATABASE_POOL_SIZE": "4",
              "PILOT_GENERATION_PROCESSES": os.environ["PILOT_GENERATION_PROCESSES"], **env}
    if db_url:
        values["DATABASE_URL"] = db_url
    return Settings.from_env(values)


@pytest.fixture(autouse=True)
def _no_leaked_wait_clock_offset() -> Iterator[None]:
    """The wait clock's offset (pilot.core.clock) is process-wide — the session's live servers
    read it too — so a test that moves it can never leave it moved for the next ones."""
    yield
    from pilot.core import clock

    if clock.offset_s():
        clock.set_offset(0)


@pytest.fixture
def make_settings(tmp_path: Path):
    def _make(**env: str) -> Settings:
        return build_settings(tmp_path / ".pilot", env.pop("DATABASE_URL", None), **env)

    return _make


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name, url = create_database()
    upgrade(url)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def settings(request, tmp_path_factory) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"pilot-{request.param}") / ".pilot"
    if request.param == "postgres":
        return build_settings(data_dir, request.getfixturevalue("pg_url"))
    return build_settings(data_dir)


@pytest.fixture(scope="session")
def sqlite_settings(tmp_path_factory) -> Settings:
    return build_settings(tmp_path_factory.mktemp("pilot-sqlite-only") / ".pilot")


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def new_workspace_key(app, workspace: str | None = None) -> str:
    runtime = app.state.runtime
    async with runtime.sessions() as session:
        key = await create_api_key(session, workspace or f"ws-{uuid.uuid4().hex[:8]}")
        await session.commit()
    return key


class Api:
    """A test client bound to one workspace's key."""

    def __init__(self, client: AsyncTestClient, key: str) -> None:
        self.client = client
        self.key = key
        self.headers = {"Authorization": f"Bearer {key}"}

    def __getattr__(self, method: str):
        call = getattr(self.client, method)

        def _with_auth(url: str, **kwargs):
            kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
            return call(url, **kwargs)

        return _with_auth


@pytest.fixture
async def api(client: AsyncTestClient) -> Api:
    return Api(client, await new_workspace_key(client.app))


@pytest.fixture
async def other_api(client: AsyncTestClient) -> Api:
    """A second, unrelated workspace (for tenancy tests)."""
    return Api(client, await new_workspace_key(client.app))


class LiveServer:
    def __init__(self, url: str, app) -> None:
        self.url = url
        self.app = app

    async def new_key(self) -> str:
        return await new_workspace_key(self.app)


@pytest.fixture
async def rc(live_server: LiveServer):
    """A RunClient on the live server, bound to a fresh workspace key (run tests over a real socket)."""
    from tests.support.runs import RunClient

    client = RunClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a real loopback port (its own runtime, same database)."""
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield LiveServer(url, app)


# --------------------------------------------------------------------------- fake OpenAI server
@pytest.fixture(scope="session")
def fake_openai_server():
    """One OpenAI-compatible server (tests/support/fake_openai.py) for the whole session."""
    from tests.support.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    with fake.serve():
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server):
    """The fake OpenAI server, reset for this test: ``.base_url`` (…/v1), ``.script()``, ``.requests``."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()
