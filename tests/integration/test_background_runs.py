"""Background runs end to end: real arq worker PROCESSES, two API processes, real Redis + PostgreSQL.

- a run enqueued through API process A streams to a client connected to API B;
- SIGKILL of the worker mid-run, then a new worker: the run resumes (finished nodes are not
  re-run), ends terminal, and the stream has every event exactly once;
- cancel through the other API process;
- Redis killed mid-run (a throw-away redis-server, never the shared one): the stream completes
  from the database without hanging, and the worker recovers when Redis is back.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest
import redis as sync_redis
from httpx_sse import aconnect_sse

from pilot.app import create_app
from pilot.settings import Settings
from tests.conftest import new_workspace_key
from tests.support.background import ThrowawayRedis, spawn_api, spawn_worker, stop, wait_api, wait_worker
from tests.support.echo_server import EchoApp
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SHARED_REDIS = "redis://127.0.0.1:6379/0"


class Cluster:
    """Processes of one test module; everything started is stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path, echo: EchoApp, echo_url: str) -> None:
        self.env = env
        self.logs = logs
        self.echo = echo
        self.echo_url = echo_url
        self.procs: list = []
        self.workers: list = []

    def start(self, *, workers: int, apis: int) -> list[str]:
        """Spawn worker and API processes in parallel, then wait for all (start-up is import-bound)."""
        spawned = []
        for _ in range(workers):
            n = len(self.procs)
            proc = spawn_worker(self.env, self.logs / f"worker-{n}.log")
            self.procs.append(proc)
            self.workers.append(proc)
            spawned.append(("worker", proc, None, self.logs / f"worker-{n}.log"))
        urls = []
        for _ in range(apis):
            n = len(self.procs)
            proc, url = spawn_api(self.env, self.logs / f"api-{n}.log")
            self.procs.append(proc)
            urls.append(url)
            spawned.append(("api", proc, url, self.logs / f"api-{n}.log"))
        for kind, proc, url, log in spawned:
            if kind == "worker":
                wait_worker(proc, self.env, log)
            else:
                wait_api(proc, url, log)
        return urls

    def worker_running(self, execution_id: str):
        """The worker process holding an execution's lease (its pid is in ``worker_id``)."""
        dsn = self.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            worker_id = conn.execute("SELECT worker_id FROM executions WHERE id = %s", (execution_id,)).fetchone()[0]
        pid = int(worker_id.split(":")[1])
        return next(p for p in self.workers if p.pid == pid)

    def close(self) -> None:
        for proc in self.procs:
            stop(proc)


def cluster_env(pg_url: str, redis_url: str, tmp: Path, echo_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "PILOT_DATA_DIR": str(tmp / ".pilot"),
        "PILOT_REDIS_PREFIX": f"pilot-test-{uuid.uuid4().hex[:10]}",
        # Short intervals keep crash recovery within a few seconds; stale after 3 s, not less: on a
        # slow, loaded CI machine a live worker's loop can stall ~1.5 s, and its run was taken over.
        "PILOT_HEARTBEAT_S": "0.2", "PILOT_STALE_AFTER_S": "3", "PILOT_SWEEP_INTERVAL_S": "1",
        "PILOT_SUBSCRIBE_BLOCK_S": "0.5", "PILOT_WORKER_POLL_DELAY_S": "0.02", "PILOT_WORKER_SHUTDOWN_GRACE_S": "0.3",
        "PILOT_HTTP_ALLOWLIST": echo_url.removeprefix("http://"), "PILOT_LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="module")
def echo():
    app = EchoApp()
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def cluster(pg_url, tmp_path_factory, echo):
    tmp = tmp_path_factory.mktemp("background")
    app, url = echo
    env = cluster_env(pg_url, SHARED_REDIS, tmp, url)
    c = Cluster(env, tmp, app, url)
    try:
        c.api_a = c.start(workers=2, apis=1)[0]
        yield c
    finally:
        c.close()
        client = sync_redis.Redis.from_url(SHARED_REDIS)
        for key in client.scan_iter(f"{env['PILOT_REDIS_PREFIX']}:*"):
            client.delete(key)
        client.close()


@pytest.fixture(scope="module")
def api_b(cluster):
    """API process B: the same app served in this test process (its own runtime and Redis bus)."""
    app = create_app(Settings.from_env(cluster.env))
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def api_a(cluster):
    """API process A: a separate uvicorn process."""
    return cluster.api_a


# ------------------------------------------------------------------------------------- helpers
def slow_chain(echo_url: str, steps: int, seconds: float, tag: str) -> dict:
    """input → a1 → … → aN (api nodes that each take ``seconds``) → output."""
    nodes = [{"id": "start", "type": "input", "config": {"fields": [{"name": "topic", "type": "string", "required": False}]}}]
    edges = []
    prev = "start"
    for i in range(1, steps + 1):
        nid = f"a{i}"
        nodes.append({"id": nid, "type": "api", "config": {
            "url": f"{echo_url}/slow", "query": {"s": str(seconds), "node": nid, "tag": tag}}})
        edges.append({"id": f"e{i}", "source": prev, "target": nid})
        prev = nid
    nodes.append({"id": "out", "type": "output", "config": {"outputs": {"last": f"{{{{ nodes.{prev}.output }}}}"}}})
    edges.append({"id": "e_out", "source": prev, "target": "out"})
    return {"name": f"slow chain {tag}", "nodes": nodes, "edges": edges}


async def create_workflow(url: str, key: str, body: dict) -> str:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        response = await client.post("/api/workflows", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]


async def execute(url: str, key: str, workflow_id: str, **body) -> str:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        response = await client.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}, **body})
        assert response.status_code == 202, response.text
        data = response.json()
        assert data["stream_url"] == f"/api/executions/{data['execution_id']}/stream"
        return data["execution_id"]


async def stream(url: str, key: str, execution_id: str, *, on_event=None, timeout: float = 30.0) -> list[tuple[int, str, dict]]:
    """Read the SSE stream to its end; ``on_event(seq, name, data)`` is awaited for each event."""
    got: list[tuple[int, str, dict]] = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=None) as client,
            aconnect_sse(client, "GET", f"/api/executions/{execution_id}/stream") as source,
        ):
            assert source.response.status_code == 200
            async for sse in source.aiter_sse():
                if not sse.id or not sse.data:  # keep-alive pings (httpx-sse repeats the last id on them)
                    continue
                item = (int(sse.id), sse.event, sse.json())
                got.append(item)
                if on_event is not None:
                    await on_event(*item)

    await asyncio.wait_for(read(), timeout)
    return got


async def stream_from(url: str, key: str, execution_id: str, *, last_event_id: int, timeout: float = 30.0):
    """Reconnect with ``Last-Event-ID``: the events after it, to the end."""
    got = []
    headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": str(last_event_id)}
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout) as client,
        aconnect_sse(client, "GET", f"/api/executions/{execution_id}/stream") as source,
    ):
        async for sse in source.aiter_sse():
            if sse.id and sse.data:
                got.append((int(sse.id), sse.event, sse.json()))
    return got


async def get_execution(url: str, key: str, execution_id: str) -> dict:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        response = await client.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        return response.json()


def assert_exactly_once(events: list[tuple[int, str, dict]]) -> None:
    seqs = [seq for seq, _, _ in events]
    assert seqs == list(range(1, len(seqs) + 1)), f"lost or duplicated events: {seqs}"
    assert events[-1][1] == "run.finished"
    assert sum(1 for _, name, _ in events if name == "run.finished") == 1


def requests_for(echo: EchoApp, tag: str) -> Counter:
    return Counter(r["query"].get("node") for r in echo.received if r["query"].get("tag") == tag)


# --------------------------------------------------------------------------------------- tests
async def test_background_run_streams_to_a_client_on_another_api_process(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    tag = uuid.uuid4().hex[:8]
    workflow_id = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 3, 0.1, tag))
    execution_id = await execute(api_a, key, workflow_id)  # enqueued by process A (REDIS_URL: background is the default)
    events = await stream(url_b, key, execution_id)  # streamed from process B
    assert_exactly_once(events)
    names = [name for _, name, _ in events]
    assert names[0] == "run.started"
    assert [d["node_id"] for _, n, d in events if n == "node.finished"] == ["start", "a1", "a2", "a3", "out"]
    assert events[-1][2]["status"] == "succeeded"
    detail = await get_execution(api_a, key, execution_id)
    assert detail["status"] == "succeeded" and detail["mode"] == "background"
    # A late client (after the run) replays the identical stream from the database.
    assert await stream(api_a, key, execution_id) == events


async def test_worker_sigkill_mid_run_resumes_without_loss_or_duplicates(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    tag = uuid.uuid4().hex[:8]
    workflow_id = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 4, 0.4, tag))
    execution_id = await execute(api_a, key, workflow_id, mode="background")
    killed: list = []

    async def kill_after_a2(seq: int, name: str, data: dict) -> None:
        if name == "node.finished" and data.get("node_id") == "a2" and not killed:
            victim = cluster.worker_running(execution_id)
            stop(victim, sig=signal.SIGKILL)  # mid-run: a3 is in flight
            cluster.workers.remove(victim)
            killed.append(victim)

    events = await stream(url_b, key, execution_id, on_event=kill_after_a2, timeout=40)
    assert killed and killed[0].returncode == -signal.SIGKILL
    # The surviving worker's sweeper noticed the silent heartbeat and resumed the run.
    replacement = spawn_worker(cluster.env, cluster.logs / "worker-restarted.log")  # restart (not waited for)
    cluster.procs.append(replacement)
    cluster.workers.append(replacement)
    assert_exactly_once(events)
    assert events[-1][2]["status"] == "succeeded"
    finished = Counter(d["node_id"] for _, n, d in events if n == "node.finished")
    assert all(count == 1 for count in finished.values()) and set(finished) == {"start", "a1", "a2", "a3", "a4", "out"}, " ".join(
        f"{seq}:{name}:{data.get('node_id')}" for seq, name, data in events)
    # Finished nodes were not re-run: one request each for a1/a2 (a3 was interrupted, so ran again).
    calls = requests_for(cluster.echo, tag)
    assert calls["a1"] == 1 and calls["a2"] == 1 and calls["a4"] == 1
    detail = await get_execution(api_a, key, execution_id)
    assert detail["status"] == "succeeded"
    # The database holds the same events the live client saw.
    assert await stream(api_a, key, execution_id) == events


async def test_worker_sigterm_hands_the_run_back_and_another_worker_resumes_it(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    tag = uuid.uuid4().hex[:8]
    workflow_id = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 3, 0.8, tag))
    execution_id = await execute(api_a, key, workflow_id, mode="background")
    stopped: list = []

    async def stop_during_a2(seq: int, name: str, data: dict) -> None:
        if name == "node.started" and data.get("node_id") == "a2" and not stopped:
            holder = cluster.worker_running(execution_id)
            started = time.monotonic()
            stop(holder)  # SIGTERM: graceful; a2 cannot finish within the 0.3 s grace
            stopped.append((holder, time.monotonic() - started))
            cluster.workers.remove(holder)

    events = await stream(url_b, key, execution_id, on_event=stop_during_a2, timeout=40)
    holder, took = stopped[0]
    assert holder.returncode == 0 and took < 10  # a clean, prompt exit
    assert_exactly_once(events)
    assert events[-1][2]["status"] == "succeeded"
    finished = Counter(d["node_id"] for _, n, d in events if n == "node.finished")
    assert set(finished) == {"start", "a1", "a2", "a3", "out"} and all(c == 1 for c in finished.values())
    assert requests_for(cluster.echo, tag)["a1"] == 1  # finished before the hand-back: not re-run
    # The hand-back is not a failure: a2 is simply started again by the next attempt.
    assert [d for _, n, d in events if n == "node.failed"] == []
    replacement = spawn_worker(cluster.env, cluster.logs / "worker-after-sigterm.log")
    cluster.procs.append(replacement)
    cluster.workers.append(replacement)


async def test_cancel_from_another_api_process(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    tag = uuid.uuid4().hex[:8]
    workflow_id = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 3, 2.0, tag))
    execution_id = await execute(api_a, key, workflow_id, mode="background")
    cancelled_at: list[float] = []

    async def cancel_when_running(seq: int, name: str, data: dict) -> None:
        if name == "node.started" and data.get("node_id") == "a1":
            async with httpx.AsyncClient(base_url=url_b, headers={"Authorization": f"Bearer {key}"}) as client:
                response = await client.post(f"/api/executions/{execution_id}/cancel")
                assert response.status_code in (200, 202), response.text
            cancelled_at.append(time.monotonic())

    events = await stream(api_a, key, execution_id, on_event=cancel_when_running, timeout=20)
    ended = time.monotonic()
    assert cancelled_at and ended - cancelled_at[0] < 1.5  # prompt: well before a1's 2 s finish
    assert_exactly_once(events)
    assert events[-1][2]["status"] == "cancelled"
    assert (await get_execution(url_b, key, execution_id))["status"] == "cancelled"


async def test_api_shutdown_ends_streams_cleanly_and_the_run_goes_on(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    doomed_url = cluster.start(workers=0, apis=1)[0]
    doomed = cluster.procs[-1]
    tag = uuid.uuid4().hex[:8]
    workflow_id = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 2, 1.0, tag))
    execution_id = await execute(api_a, key, workflow_id, mode="background")
    seen: list = []

    async def shut_down_the_api(seq: int, name: str, data: dict) -> None:
        if name == "node.started" and data.get("node_id") == "a1" and not seen:
            seen.append(seq)
            await asyncio.to_thread(stop, doomed)  # SIGTERM: uvicorn's graceful shutdown

    started = time.monotonic()
    partial = await stream(doomed_url, key, execution_id, on_event=shut_down_the_api, timeout=20)  # ends, no error
    # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean exit too.
    assert seen and doomed.returncode in (0, -signal.SIGTERM) and time.monotonic() - started < 10
    assert "Traceback" not in (cluster.logs / f"api-{len(cluster.procs) - 1}.log").read_text()
    assert partial[-1][1] != "run.finished"  # cut short by the shutdown, cleanly
    # The run was not in that process: it goes on, and a reconnect elsewhere resumes the stream.
    rest = await stream_from(url_b, key, execution_id, last_event_id=partial[-1][0])
    assert_exactly_once(partial + rest)
    assert rest[-1][2]["status"] == "succeeded"


async def test_redis_dies_mid_run_stream_completes_and_worker_recovers(pg_url, tmp_path, echo):
    if not ThrowawayRedis.available():
        pytest.skip("redis-server binary not installed")
    echo_app, echo_url = echo
    private = ThrowawayRedis(tmp_path / "redis.log").start()
    cluster = Cluster(cluster_env(pg_url, private.url, tmp_path, echo_url), tmp_path, echo_app, echo_url)
    try:
        spawned = spawn_worker(cluster.env, tmp_path / "worker-outage.log")
        cluster.procs.append(spawned)
        app = create_app(Settings.from_env(cluster.env))
        wait_worker(spawned, cluster.env, tmp_path / "worker-outage.log")
        with serve_in_thread(app) as url:
            key = await new_workspace_key(app)
            tag = uuid.uuid4().hex[:8]
            workflow_id = await create_workflow(url, key, slow_chain(echo_url, 4, 0.3, tag))
            execution_id = await execute(url, key, workflow_id, mode="background")
            killed = asyncio.Event()

            async def kill_redis(seq: int, name: str, data: dict) -> None:
                if name == "node.finished" and data.get("node_id") == "a1" and not killed.is_set():
                    killed.set()
                    private.kill()

            started = time.monotonic()
            events = await stream(url, key, execution_id, on_event=kill_redis, timeout=30)
            assert killed.is_set()
            assert_exactly_once(events)  # a2..out came from the database while Redis was gone
            assert events[-1][2]["status"] == "succeeded"
            assert time.monotonic() - started < 15
            # Redis comes back (empty): the worker reconnects and takes new work.
            private.start()
            second = await execute(url, key, workflow_id, mode="background")
            again = await stream(url, key, second, timeout=30)
            assert_exactly_once(again)
            assert again[-1][2]["status"] == "succeeded"
    finally:
        cluster.close()
        private.kill()
