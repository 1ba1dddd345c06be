"""Durable waits in background mode: real arq worker and API PROCESSES, real Redis + PostgreSQL.

- a two-day wait (injectable clock: the restarted processes run two days ahead) survives a
  SIGKILL of the worker AND of the API process, and resumes exactly once although two new
  workers race for it (one run.finished, the node after the wait called once);
- an approval round-trip over HTTP resumes the run through an arq job; a rejection takes the
  node's ``on_error`` path.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import psycopg
import pytest
import redis as sync_redis
from httpx_sse import aconnect_sse

from pilot.auth.service import create_api_key
from pilot.db.engine import create_engine, create_session_factory
from pilot.settings import Settings
from tests.integration.test_background_runs import cluster_env
from tests.support.background import spawn_api, spawn_worker, stop, wait_api, wait_worker
from tests.support.echo_server import EchoApp
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SHARED_REDIS = "redis://127.0.0.1:6379/0"
TWO_DAYS = 2 * 86_400


def graph(echo_url: str, tag: str, wait: dict) -> dict:
    nodes = [
        {"id": "start", "type": "input", "config": {"fields": []}},
        {"id": "pause", "type": "wait", **wait},
        {"id": "after", "type": "api", "config": {"url": f"{echo_url}/echo", "query": {"node": "after", "tag": tag}}},
        {"id": "out", "type": "output", "config": {"outputs": {"pause": "{{ nodes.pause.output }}"}}},
    ]
    edges = [{"id": "e1", "source": "start", "target": "pause"}, {"id": "e2", "source": "pause", "target": "after"},
             {"id": "e3", "source": "after", "target": "out"}]
    return {"name": f"wait {tag}", "nodes": nodes, "edges": edges}


class Procs:
    def __init__(self, env: dict, logs) -> None:
        self.env, self.logs, self.all = env, logs, []

    def start(self, *, workers: int, env: dict | None = None) -> tuple[list, object, str]:
        env = {**self.env, **(env or {})}
        n = len(self.all)
        started = [spawn_worker(env, self.logs / f"worker-{n}-{i}.log") for i in range(workers)]
        api, url = spawn_api(env, self.logs / f"api-{n}.log")
        self.all += [*started, api]
        for i, proc in enumerate(started):
            wait_worker(proc, env, self.logs / f"worker-{n}-{i}.log")
        wait_api(api, url, self.logs / f"api-{n}.log")
        return started, api, url


@pytest.fixture(scope="module")
def echo():
    app = EchoApp()
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def procs(pg_url, tmp_path_factory, echo):
    tmp = tmp_path_factory.mktemp("wait-background")
    # Nothing here needs fast dead-worker detection (runs are killed while *waiting*, holding no
    # worker): a generous stale threshold keeps a cold worker's first run from being taken over.
    env = {**cluster_env(pg_url, SHARED_REDIS, tmp, echo[1]), "PILOT_WAIT_SWEEP_INTERVAL_S": "1", "PILOT_STALE_AFTER_S": "10"}
    p = Procs(env, tmp)
    try:
        yield p
    finally:
        for proc in p.all:
            stop(proc)
        client = sync_redis.Redis.from_url(SHARED_REDIS)
        for key in client.scan_iter(f"{env['PILOT_REDIS_PREFIX']}:*"):
            client.delete(key)
        client.close()


async def new_keys(env: dict) -> tuple[str, str]:
    """A new workspace with two keys: ``default`` and ``moderator``."""
    engine = create_engine(Settings.from_env(env).db)
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    async with create_session_factory(engine)() as session:
        keys = await create_api_key(session, workspace), await create_api_key(session, workspace, "moderator")
        await session.commit()
    await engine.dispose()
    return keys


def client(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def start_run(url: str, key: str, body: dict) -> str:
    async with client(url, key) as http:
        created = await http.post("/api/workflows", json=body)
        assert created.status_code == 201, created.text
        started = await http.post(f"/api/workflows/{created.json()['id']}/execute", json={"input_data": {}})
        assert started.status_code == 202, started.text
        return started.json()["execution_id"]


async def events_until(url: str, key: str, execution_id: str, last: str = "run.finished", timeout: float = 40.0):
    got: list[tuple[int, str, dict]] = []

    async def read() -> None:
        async with client(url, key) as http, aconnect_sse(http, "GET", f"/api/executions/{execution_id}/stream") as source:
            async for sse in source.aiter_sse():
                if sse.id and sse.data:
                    got.append((int(sse.id), sse.event, sse.json()))
                    if sse.event == last:
                        return

    await asyncio.wait_for(read(), timeout)
    return got


def row(env: dict, execution_id: str) -> tuple:
    dsn = env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT status, worker_id, heartbeat_at, resume_at FROM executions WHERE id = %s",
                            (execution_id,)).fetchone()


async def wait_row_status(env: dict, execution_id: str, status: str, timeout: float = 20.0) -> tuple:
    deadline = time.monotonic() + timeout
    while (current := row(env, execution_id))[0] != status:
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.1)
    return current


def calls(echo: EchoApp, tag: str) -> int:
    return sum(1 for r in echo.received if r["query"].get("tag") == tag)


async def test_two_day_wait_survives_sigkill_of_worker_and_api_and_resumes_once(procs, echo):
    echo_app, echo_url = echo
    (worker,), api, url = procs.start(workers=1)
    key, _ = await new_keys(procs.env)
    tag = uuid.uuid4().hex[:8]
    execution_id = await start_run(url, key, graph(echo_url, tag, {"config": {"duration_s": TWO_DAYS}}))
    before = await events_until(url, key, execution_id, last="node.waiting", timeout=30)
    assert before[-1][2]["kind"] == "duration"
    status, worker_id, heartbeat_at, resume_at = await wait_row_status(procs.env, execution_id, "waiting")
    assert worker_id is None and heartbeat_at is None and resume_at is not None  # holds no worker
    await asyncio.sleep(1.5)  # a few sweeps: a waiting run is never taken for a dead one
    assert row(procs.env, execution_id)[0] == "waiting" and calls(echo_app, tag) == 0
    for proc in (worker, api):
        stop(proc, sig=signal.SIGKILL)
        assert proc.returncode == -signal.SIGKILL
    # Two days and a minute later: two new workers race (their sweepers make the job due), a new API.
    _, _, url = procs.start(workers=2, env={"PILOT_CLOCK_OFFSET_S": str(TWO_DAYS + 60)})
    events = await events_until(url, key, execution_id, timeout=40)
    seqs = [s for s, _, _ in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    order = [name for _, name, _ in events]
    assert order.count("run.finished") == 1 and order.count("node.resumed") == 1 and order.count("node.waiting") == 1
    assert events[-1][2]["status"] == "succeeded", events[-1]
    assert events[-1][2]["outputs"]["pause"]["waited_s"] >= TWO_DAYS
    await asyncio.sleep(2)  # let any duplicate resume job run: it must find nothing to claim
    assert calls(echo_app, tag) == 1
    assert row(procs.env, execution_id)[0] == "succeeded"
    again = await events_until(url, key, execution_id, timeout=10)
    assert [name for _, name, _ in again].count("run.finished") == 1 and again == events


@pytest.mark.parametrize(("approved", "on_error", "status", "after_calls"),
                         [(True, "fail", "succeeded", 1), (False, "continue", "succeeded", 1), (False, "fail", "failed", 0)])
async def test_approval_round_trip_in_background_mode(procs, echo, approved, on_error, status, after_calls):
    echo_app, echo_url = echo
    if not any(p.poll() is None for p in procs.all):
        procs.start(workers=1)
    url = next(p for p in reversed(procs.all) if p.poll() is None and p.args[2] == "uvicorn")
    url = f"http://127.0.0.1:{url.args[url.args.index('--port') + 1]}"
    key, moderator = await new_keys(procs.env)
    tag = uuid.uuid4().hex[:8]
    wait = {"config": {"approval": {"prompt": "Publish?", "approvers": ["moderator"]}}, "on_error": on_error}
    execution_id = await start_run(url, key, graph(echo_url, tag, wait))
    await wait_row_status(procs.env, execution_id, "waiting")
    async with client(url, moderator) as http:
        response = await http.post(f"/api/executions/{execution_id}/approvals/pause",
                                   json={"approved": approved, "comment": "ok" if approved else "no"})
    assert response.status_code == 200, response.text
    events = await events_until(url, key, execution_id, timeout=30)
    assert events[-1][2]["status"] == status
    if approved:
        assert events[-1][2]["outputs"]["pause"]["by"] == "moderator"
    else:
        pause = [d for _, n, d in events if n in ("node.finished", "node.failed") and d["node_id"] == "pause"]
        assert pause[-1]["error"] == "rejected: no"
    assert calls(echo_app, tag) == after_calls
