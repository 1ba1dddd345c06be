"""A stalled attempt cannot write into a stream another attempt took over (real PostgreSQL + Redis).

Two attempts of one background execution run in this process through the worker's own job
function (:func:`pilot.background.worker.run_execution`), each with its own Redis bus as if in
its own process. The first stalls inside a node without heartbeating, the second takes the run
over (a short ``stale_after``) and resumes it; then the first wakes up and goes on emitting.
What a live subscriber saw and what the database replays must be the same events, none of them
from the first attempt after the takeover.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from pilot.background.cancel import CancelSignals
from pilot.background.keys import RedisKeys
from pilot.background.launcher import connect_arq
from pilot.background.redis_bus import RedisStreamBus, db_event_reader
from pilot.background.sweeper import sweep
from pilot.background.worker import run_execution
from pilot.core.ids import new_id
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.models import ExecutionRow, StreamEventRow, WorkflowRow, WorkspaceRow
from pilot.engine.executor import EngineDeps, execute
from pilot.engine.nodes import RUNNERS, register
from pilot.engine.nodes.base import EngineServices
from pilot.settings import Settings

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/0"
STALE_AFTER_S = 0.5

ATTEMPT: contextvars.ContextVar[int] = contextvars.ContextVar("attempt")  # which attempt runs a node


class GatedTool:
    """The ``tool`` runner for these tests: node ``slow`` waits for its attempt's gate; every node
    returns ``{"attempt": n}`` so that an event says which attempt wrote it."""

    node_type = "tool"

    def __init__(self) -> None:
        self.entered = {1: asyncio.Event(), 2: asyncio.Event()}
        self.gates = {1: asyncio.Event(), 2: asyncio.Event()}

    async def run(self, ctx: Any) -> Any:
        attempt = ATTEMPT.get()
        if ctx.node.id == "slow":
            self.entered[attempt].set()
            await self.gates[attempt].wait()
        return {"attempt": attempt}


@pytest.fixture
def gated():
    original = RUNNERS.get("tool")
    runner = GatedTool()
    register(runner, replace=True)
    try:
        yield runner
    finally:
        if original is not None:
            register(original, replace=True)


class Runs:
    """What ``runtime.runs`` is to the worker job: the executor on this attempt's deps."""

    def __init__(self, deps: EngineDeps) -> None:
        self.deps = deps

    async def run_execution(self, execution_id: str, **kw: Any) -> str:
        return await execute(execution_id, self.deps, **kw)


@pytest.fixture
async def env(pg_url, tmp_path):
    prefix = f"pilot-test-{uuid.uuid4().hex[:10]}"
    # No heartbeat within a test (60 s), stale after 0.5 s: an attempt is "stalled" as soon as it waits.
    settings = Settings.from_env({
        "DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL, "PILOT_REDIS_PREFIX": prefix, "PILOT_DATA_DIR": str(tmp_path),
        "PILOT_SUBSCRIBE_BLOCK_S": "0.2", "PILOT_HEARTBEAT_S": "60", "PILOT_STALE_AFTER_S": str(STALE_AFTER_S),
    })
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)
    keys = RedisKeys(prefix)
    redis = connect_arq(REDIS_URL, keys)
    buses: list[RedisStreamBus] = []

    def new_bus() -> RedisStreamBus:  # one per simulated process
        bus = RedisStreamBus(REDIS_URL, settings.redis, persisted=db_event_reader(sessions))
        buses.append(bus)
        return bus

    async with sessions() as session:
        ws = WorkspaceRow(name=f"ws-{uuid.uuid4().hex[:8]}")
        session.add(ws)
        await session.flush()
        wf = WorkflowRow(workspace_id=ws.id, name="wf", graph={"nodes": [], "edges": []})
        session.add(wf)
        await session.commit()
    holder = SimpleNamespace(settings=settings, sessions=sessions, keys=keys, redis=redis, new_bus=new_bus,
                             workspace_id=ws.id, workflow_id=wf.id)
    yield holder
    for bus in buses:
        await bus.aclose()
    raw = aioredis.from_url(REDIS_URL)
    async for key in raw.scan_iter(f"{prefix}:*"):
        await raw.delete(key)
    await raw.aclose()
    await redis.aclose()
    await engine.dispose()


def _tool(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "tool", "config": {"tool": "gated", "arguments": {}}}


async def _queued(env) -> str:
    """n0 → slow → n2, queued for a background worker."""
    nodes = [_tool("n0"), _tool("slow"), _tool("n2")]
    edges = [{"id": "a", "source": "n0", "target": "slow"}, {"id": "b", "source": "slow", "target": "n2"}]
    exe_id = new_id("exe")
    async with env.sessions() as session:
        session.add(ExecutionRow(id=exe_id, workspace_id=env.workspace_id, workflow_id=env.workflow_id,
                                 workflow_version=1, graph={"nodes": nodes, "edges": edges}, input_data={},
                                 usage={}, status="queued", mode="background"))
        await session.commit()
    return exe_id


async def _attempt(env, n: int, exe_id: str) -> str:
    """One delivery of the job, in a process of its own (its own bus, deps and cancel routing)."""
    ATTEMPT.set(n)  # this task's context: the run task the job starts inherits it
    bus = env.new_bus()
    deps = EngineDeps(settings=env.settings, sessions=env.sessions, bus=bus, services=EngineServices(settings=env.settings))
    runtime = SimpleNamespace(settings=env.settings, sessions=env.sessions, bus=bus, runs=Runs(deps))
    ctx = {"runtime": runtime, "cancels": CancelSignals(env.redis, env.keys)}
    return await run_execution(ctx, exe_id)


async def _replay(env, exe_id: str) -> list[tuple[int, str, dict]]:
    async with env.sessions() as session:
        rows = (await session.execute(
            sa.select(StreamEventRow.seq, StreamEventRow.event, StreamEventRow.data)
            .where(StreamEventRow.stream_id == exe_id).order_by(StreamEventRow.seq))).all()
    return [(seq, event, data) for seq, event, data in rows]


async def _live(bus: RedisStreamBus, exe_id: str) -> list[tuple[int, str, dict]]:
    return [(e.seq, e.event, e.data) async for e in bus.subscribe(exe_id)]


def _by_attempt(events: list[tuple[int, str, dict]], attempt: int) -> list[tuple[int, str, str]]:
    return [(seq, name, data["node_id"]) for seq, name, data in events
            if name == "node.finished" and (data.get("output") or {}).get("attempt") == attempt]


async def test_a_stalled_attempt_cannot_publish_into_the_stream_its_successor_took_over(env, gated):
    exe_id = await _queued(env)
    live = asyncio.create_task(_live(env.new_bus(), exe_id))  # an SSE client of another API process
    first = asyncio.create_task(_attempt(env, 1, exe_id))
    await asyncio.wait_for(gated.entered[1].wait(), 10)  # run.started, n0, slow started: then it stalls

    await asyncio.sleep(STALE_AFTER_S + 0.3)  # no heartbeat: presumed dead
    second = asyncio.create_task(_attempt(env, 2, exe_id))
    await asyncio.wait_for(gated.entered[2].wait(), 10)  # resumed: n0 restored, slow started again

    gated.gates[1].set()  # the first attempt wakes up and goes on (slow finished, n2 ...)
    await asyncio.sleep(0.3)
    gated.gates[2].set()
    assert await asyncio.wait_for(second, 15) == "succeeded"
    assert await asyncio.wait_for(first, 15) == "interrupted"  # fenced out, never ended the run

    seen = await asyncio.wait_for(live, 15)
    replay = await _replay(env, exe_id)
    assert seen == replay  # SSE's promise: the live stream is exactly the replay
    assert [seq for seq, _, _ in replay] == list(range(1, len(replay) + 1))
    assert [(name, data.get("node_id")) for _, name, data in replay] == [
        ("run.started", None), ("node.started", "n0"), ("node.finished", "n0"), ("node.started", "slow"),
        ("node.started", "slow"), ("node.finished", "slow"), ("node.started", "n2"), ("node.finished", "n2"),
        ("run.finished", None),
    ]
    assert _by_attempt(replay, 1) == [(3, "node.finished", "n0")]  # nothing of attempt 1 after the takeover
    assert replay[-1][2]["status"] == "succeeded" and replay[-1][2]["outputs"] is not None
    async with env.sessions() as session:
        row = await session.get(ExecutionRow, exe_id)
    assert row.status == "succeeded" and row.attempts == 2 and row.last_seq == len(replay)


async def test_a_stalled_attempt_cannot_publish_after_the_sweeper_ended_its_run(env, gated):
    exe_id = await _queued(env)
    first = asyncio.create_task(_attempt(env, 1, exe_id))
    await asyncio.wait_for(gated.entered[1].wait(), 10)
    await asyncio.sleep(STALE_AFTER_S + 0.3)
    sweeper_bus = env.new_bus()
    report = await sweep(env.sessions, env.redis, sweeper_bus, env.keys, stale_after_s=STALE_AFTER_S, max_attempts=1)
    # out of attempts: ended failed with run.finished (the shared database may hold other tests' stale runs too)
    assert exe_id in report.failed

    gated.gates[1].set()  # the stalled attempt wakes up: slow finished, n2 ...
    assert await asyncio.wait_for(first, 15) == "interrupted"
    replay = await _replay(env, exe_id)
    retained = await env.new_bus().retained(exe_id)  # what the Redis stream holds
    assert [(e.seq, e.event, e.data) for e in retained] == replay
    assert [name for _, name, _ in replay] == ["run.started", "node.started", "node.finished", "node.started",
                                               "run.finished"]
    assert replay[-1][2]["status"] == "failed" and "worker lost" in replay[-1][2]["error"]
    async with env.sessions() as session:
        assert (await session.get(ExecutionRow, exe_id)).status == "failed"
