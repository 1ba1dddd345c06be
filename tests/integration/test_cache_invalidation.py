"""Cross-process cache invalidation over real Redis: two API processes on one PostgreSQL.

API A is a separate uvicorn process, API B this test process's app on a real socket; both cache
principals and tool listings for ``PILOT_AUTH_CACHE_TTL_S=300`` seconds, so anything A sees
change within this test was told to it through Redis (pilot.background.invalidation):

- a row inserted behind both processes' backs (raw SQL) stays invisible to A: A really caches;
- a tool created through B shows in A's listing (together with that raw row: the page was dropped);
- a key revoked through B is refused by A;
- a CLI-style block (``announcing``) in a third, Redis-less-runtime process reaches A too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import redis as sync_redis

from pilot.app import create_app
from pilot.settings import Settings
from tests.conftest import new_workspace_key
from tests.support.background import spawn_api, stop, wait_api
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SHARED_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def env(pg_url, tmp_path_factory) -> dict[str, str]:
    tmp: Path = tmp_path_factory.mktemp("cache-invalidation")
    prefix = f"pilot-test-{uuid.uuid4().hex[:10]}"
    yield {"DATABASE_URL": pg_url, "REDIS_URL": SHARED_REDIS, "PILOT_REDIS_PREFIX": prefix,
           "PILOT_DATA_DIR": str(tmp / ".pilot"), "PILOT_AUTH_CACHE_TTL_S": "300", "DATABASE_POOL_SIZE": "4"}
    client = sync_redis.Redis.from_url(SHARED_REDIS)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def api_a_process(env, tmp_path_factory):
    log = tmp_path_factory.mktemp("api-a") / "api.log"
    proc, url = spawn_api(env, log)
    try:
        wait_api(proc, url, log)
        yield url, log
    finally:
        stop(proc)


@pytest.fixture
def api_a(api_a_process):
    """A's URL; after the test, A's log shows its subscription never dropped: had it reconnected
    (which empties every cache) the changes could have been seen without any message."""
    url, log = api_a_process
    yield url
    assert "pub/sub channel" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-2000:]


@pytest.fixture(scope="module")
def api_b(env):
    app = create_app(Settings.from_env(env))
    with serve_in_thread(app) as url:
        yield app, url


async def _until(check, *, within_s: float = 10.0) -> bool:
    """Poll ``check()`` until it is true; False if it never became true (a generous deadline: the
    message normally lands in milliseconds, but a loaded CI machine must not flake; the fixture's
    log check rules out the subscription's reconnects as what emptied the cache)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


def _raw_tool(pg_url: str, workspace_id: str, name: str) -> None:
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO tool_instances (id, workspace_id, name, connector, description, config, defaults, "
                     "created_at, updated_at) VALUES (%s, %s, %s, 'http', '', '{}', '{}', now(), now())",
                     (f"tool_{uuid.uuid4().hex}", workspace_id, name))


async def test_changes_through_one_process_reach_the_others_cache(api_a, api_b, env) -> None:
    app_b, url_b = api_b
    admin = await new_workspace_key(app_b)
    async with httpx.AsyncClient(timeout=10) as http:
        headers = {"Authorization": f"Bearer {admin}"}
        made = await http.post(f"{url_b}/api/workspace/keys", headers=headers, json={"name": "ci", "role": "member"})
        assert made.status_code == 201, made.text
        member, member_id = made.json()["key"], made.json()["id"]
        member_headers = {"Authorization": f"Bearer {member}"}

        async def names_on_a() -> list[str]:
            answer = await http.get(f"{api_a}/api/tools", headers=member_headers)
            assert answer.status_code == 200, answer.text
            return [item["name"] for item in answer.json()["items"]]

        assert await names_on_a() == []  # A has now cached the principal and the empty page
        me = await http.get(f"{url_b}/api/workspace", headers=headers)
        workspace_id = me.json()["id"]

        _raw_tool(env["DATABASE_URL"], workspace_id, "behind_the_back")  # no hook sees raw SQL
        await asyncio.sleep(6)  # longer than the Redis client's 5 s socket timeout: an idle subscription stays up
        assert await names_on_a() == []  # A answers from its cache (TTL 300 s)

        created = await http.post(f"{url_b}/api/tools", headers=headers, json={"name": "crm", "connector": "http"})
        assert created.status_code == 201, created.text

        async def a_lists_both() -> bool:
            return await names_on_a() == ["behind_the_back", "crm"]

        assert await _until(a_lists_both), await names_on_a()

        revoked = await http.delete(f"{url_b}/api/workspace/keys/{member_id}", headers=headers)
        assert revoked.status_code == 204, revoked.text

        async def a_refuses() -> bool:
            return (await http.get(f"{api_a}/api/tools", headers=member_headers)).status_code == 401

        assert await _until(a_refuses)


async def test_a_cli_transaction_announces_its_changes(api_a, api_b, env) -> None:
    """``pilot users …`` / ``pilot import`` run ``in_database`` in a short-lived process: what they
    commit is published once at the end (pilot.background.invalidation.announcing)."""
    import sqlalchemy as sa

    from pilot.background.invalidation import announcing
    from pilot.db.models import ToolInstanceRow
    from pilot.runtime import Runtime

    app_b, _url_b = api_b
    key = await new_workspace_key(app_b)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{api_a}/api/tools", headers=headers)).json()["items"] == []
        settings = Settings.from_env(env)
        runtime = Runtime.build(settings)  # like the CLI's: no start-up steps, no subscriber
        try:
            async with runtime.sessions() as session:
                workspace_id = (await http.get(f"{api_a}/api/workspace", headers=headers)).json()["id"]
                async with announcing(settings.redis):
                    await session.execute(sa.insert(ToolInstanceRow).values(
                        id=f"tool_{uuid.uuid4().hex}", workspace_id=workspace_id, name="imported", connector="http",
                        description="", config={}, defaults={}))
                    await session.commit()
        finally:
            await runtime.aclose()

        async def a_lists_it() -> bool:
            return [t["name"] for t in (await http.get(f"{api_a}/api/tools", headers=headers)).json()["items"]] == ["imported"]

        assert await _until(a_lists_it)
