"""Lease, sweeper and event backfill against the real PostgreSQL and Redis (no worker process)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from pilot.background.keys import RedisKeys
from pilot.background.launcher import connect_arq
from pilot.background.lease import Lease
from pilot.background.redis_bus import RedisStreamBus, db_event_reader
from pilot.background.resume import reconcile
from pilot.background.sweeper import backfill_events, sweep
from pilot.core.ids import new_id, utcnow
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.models import ExecutionRow, NodeResultRow, StreamEventRow, WorkflowRow, WorkspaceRow
from pilot.events.schemas import StreamEvent
from pilot.settings import Settings

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def env(pg_url, tmp_path):
    prefix = f"pilot-test-{uuid.uuid4().hex[:10]}"
    settings = Settings.from_env({"DATABASE_URL": pg_url, "REDIS_URL": REDIS_URL, "PILOT_REDIS_PREFIX": prefix,
                                  "PILOT_DATA_DIR": str(tmp_path), "PILOT_SUBSCRIBE_BLOCK_S": "0.2"})
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)
    keys = RedisKeys(prefix)
    redis = connect_arq(REDIS_URL, keys)
    bus = RedisStreamBus(REDIS_URL, settings.redis, persisted=db_event_reader(sessions))
    async with sessions() as session:
        ws = WorkspaceRow(name=f"ws-{uuid.uuid4().hex[:8]}")
        session.add(ws)
        await session.flush()
        wf = WorkflowRow(workspace_id=ws.id, name="wf", graph={"nodes": [], "edges": []})
        session.add(wf)
        await session.commit()
    holder = {"settings": settings, "sessions": sessions, "keys": keys, "redis": redis, "bus": bus,
              "workspace_id": ws.id, "workflow_id": wf.id}
    yield holder
    raw = aioredis.from_url(REDIS_URL)
    async for key in raw.scan_iter(f"{prefix}:*"):
        await raw.delete(key)
    await raw.aclose()
    await bus.aclose()
    await redis.aclose()
    await engine.dispose()


async def new_execution(env, **values) -> str:
    exe_id = new_id("exe")
    async with env["sessions"]() as session:
        session.add(ExecutionRow(id=exe_id, workspace_id=env["workspace_id"], workflow_id=env["workflow_id"],
                                 workflow_version=1, graph={}, mode="background", **values))
        await session.commit()
    return exe_id


async def row(env, exe_id: str) -> ExecutionRow:
    async with env["sessions"]() as session:
        return await session.get(ExecutionRow, exe_id)


async def events(env, exe_id: str) -> list[tuple[int, str]]:
    async with env["sessions"]() as session:
        return [(s, e) for s, e in (await session.execute(
            sa.select(StreamEventRow.seq, StreamEventRow.event).where(StreamEventRow.stream_id == exe_id).order_by(StreamEventRow.seq)
        )).all()]


async def test_claim_is_exclusive_and_a_stale_holder_is_fenced_off(env):
    exe_id = await new_execution(env, status="queued")
    first = Lease(env["sessions"], exe_id, stale_after_s=0.5)
    second = Lease(env["sessions"], exe_id, stale_after_s=0.5)
    claim = await first.claim()
    assert claim is not None and claim.attempts == 1 and not claim.resumed
    assert await second.claim() is None  # a duplicate delivery while the holder is alive
    assert await first.beat() is False  # held, no cancel
    await asyncio.sleep(0.7)  # the holder stops beating: presumed dead
    takeover = await second.claim()
    assert takeover is not None and takeover.attempts == 2 and takeover.resumed
    assert await first.beat() is None and first.lost.is_set()  # the old holder learns it lost the run
    async with env["sessions"]() as session:
        await session.execute(sa.update(ExecutionRow).where(ExecutionRow.id == exe_id).values(cancel_requested=True))
        await session.commit()
    assert await second.beat() is True  # the heartbeat carries the durable cancel flag
    assert await second.hand_back() is True
    assert (await row(env, exe_id)).status == "queued"


async def test_sweeper_requeues_a_stale_run_with_attempts_left(env):
    stale = utcnow() - timedelta(seconds=60)
    exe_id = await new_execution(env, status="running", attempts=1, heartbeat_at=stale, worker_id="dead:1:x")
    live_id = await new_execution(env, status="running", attempts=1, heartbeat_at=utcnow(), worker_id="alive:1:y")
    # The dead worker's arq job is still "in progress" in Redis.
    await env["redis"].enqueue_job("run_execution", exe_id, _job_id=exe_id, _queue_name=env["keys"].queue)
    await env["redis"].set(env["keys"].arq_in_progress(exe_id), b"1", ex=600)
    report = await sweep(env["sessions"], env["redis"], env["bus"], env["keys"], stale_after_s=5, max_attempts=3)
    assert report.requeued == [exe_id] and not report.failed
    assert (await row(env, exe_id)).status == "queued" and (await row(env, exe_id)).worker_id is None
    assert (await row(env, live_id)).status == "running"  # a live run is left alone
    assert not await env["redis"].exists(env["keys"].arq_in_progress(exe_id))  # runnable again
    assert await env["redis"].zscore(env["keys"].queue, exe_id) is not None
    try:
        # Idempotent: a second sweep (another worker's tick) changes nothing.
        again = await sweep(env["sessions"], env["redis"], env["bus"], env["keys"], stale_after_s=5, max_attempts=3)
        assert not again.requeued and not again.failed
    finally:
        await env["redis"].delete(env["keys"].arq_job(exe_id))


async def test_sweeper_fails_a_run_out_of_attempts_and_ends_its_stream(env):
    exe_id = await new_execution(env, status="running", attempts=3, heartbeat_at=utcnow() - timedelta(seconds=60),
                                 started_at=utcnow() - timedelta(seconds=70))
    # Events 1..3 persisted; 4 only reached Redis before the worker died.
    async with env["sessions"]() as session:
        for seq, name in [(1, "run.started"), (2, "node.started"), (3, "node.delta")]:
            session.add(StreamEventRow(stream_id=exe_id, seq=seq, event=name, data={}))
        await session.commit()
    for seq, name in [(1, "run.started"), (2, "node.started"), (3, "node.delta"), (4, "node.delta")]:
        await env["bus"].publish(StreamEvent(exe_id, seq, name, {}))
    subscriber = asyncio.create_task(_collect(env["bus"].subscribe(exe_id, after_seq=2)))
    report = await sweep(env["sessions"], env["redis"], env["bus"], env["keys"], stale_after_s=5, max_attempts=3)
    assert report.failed == [exe_id]
    execution = await row(env, exe_id)
    assert execution.status == "failed" and "worker lost" in execution.error and execution.finished_at
    assert await events(env, exe_id) == [(1, "run.started"), (2, "node.started"), (3, "node.delta"),
                                         (4, "node.delta"), (5, "run.finished")]
    live = await asyncio.wait_for(subscriber, 5)
    assert [(e.seq, e.event) for e in live] == [(3, "node.delta"), (4, "node.delta"), (5, "run.finished")]
    assert live[-1].data["status"] == "failed" and "worker lost" in live[-1].data["error"]


async def test_sweeper_reenqueues_a_queued_run_whose_job_redis_lost(env):
    exe_id = await new_execution(env, status="queued", created_at=utcnow() - timedelta(seconds=60))
    report = await sweep(env["sessions"], env["redis"], env["bus"], env["keys"], stale_after_s=5, max_attempts=3)
    assert report.reenqueued == [exe_id]
    assert await env["redis"].exists(env["keys"].arq_job(exe_id))
    await env["redis"].delete(env["keys"].arq_job(exe_id))


async def test_backfill_persists_events_only_redis_has(env):
    exe_id = await new_execution(env, status="running")
    async with env["sessions"]() as session:
        session.add(StreamEventRow(stream_id=exe_id, seq=1, event="run.started", data={}))
        await session.commit()
    for seq in (1, 2, 3):
        await env["bus"].publish(StreamEvent(exe_id, seq, "node.delta", {"text": str(seq)}))
    assert await backfill_events(env["sessions"], env["bus"], exe_id) == 2
    assert [s for s, _ in await events(env, exe_id)] == [1, 2, 3]
    assert await backfill_events(env["sessions"], env["bus"], exe_id) == 0


async def test_backfill_skips_events_their_publisher_stored_meanwhile(env, monkeypatch):
    """The writer that published events may store them while a backfill copies them from the bus
    (it was only slow): the backfill keeps the stored rows and adds the rest, instead of failing
    on the duplicate and erroring the job that resumes the run."""
    exe_id = await new_execution(env, status="running")
    for seq in (1, 2, 3):
        await env["bus"].publish(StreamEvent(exe_id, seq, "node.delta", {"text": str(seq)}))
    real_retained = env["bus"].retained

    async def retained_while_the_publisher_stores(stream_id, after_seq):
        found = await real_retained(stream_id, after_seq)
        async with env["sessions"]() as session:  # the publisher's flusher gets seq 2 in first
            session.add(StreamEventRow(stream_id=exe_id, seq=2, event="node.delta", data={"text": "2"}))
            await session.commit()
        return found

    monkeypatch.setattr(env["bus"], "retained", retained_while_the_publisher_stores)
    assert await backfill_events(env["sessions"], env["bus"], exe_id) == 3
    assert await events(env, exe_id) == [(1, "node.delta"), (2, "node.delta"), (3, "node.delta")]


async def _collect(sub):
    return [e async for e in sub]


async def test_reconcile_persists_bus_only_events_with_their_node_results(env):
    """Node results are projected from events in the same transaction, so what a dead writer left
    only on the bus comes back as events *and* results, and nothing else needs reconciling."""
    exe_id = await new_execution(env, status="running", attempts=1)
    async with env["sessions"]() as session:
        session.add(StreamEventRow(stream_id=exe_id, seq=1, event="run.started", data={}))
        await session.commit()
    published = [
        (1, "run.started", {}),
        (2, "node.started", {"node_id": "a1", "node_type": "api", "attempt": 2}),
        (3, "node.finished", {"node_id": "a1", "status": "succeeded", "output": {"x": 1}, "elapsed_ms": 5.0, "usage": {},
                              "node_type": "api", "attempts": 2, "started_at": 1.0e9, "finished_at": 1.0e9 + 5}),
        (4, "node.finished", {"node_id": "lp[0].inner", "status": "succeeded", "output": 1}),  # loop body: not projected
        (5, "node.failed", {"node_id": "a2", "error": "cancelled"}),  # stopped, not an outcome: not projected
    ]
    for seq, name, data in published:
        await env["bus"].publish(StreamEvent(exe_id, seq, name, data))
    assert await reconcile(env["sessions"], env["bus"], exe_id) == {"backfilled": 4}
    async with env["sessions"]() as session:
        results = {r.node_id: r for r in (await session.scalars(
            sa.select(NodeResultRow).where(NodeResultRow.execution_id == exe_id))).all()}
    assert set(results) == {"a1"}
    assert results["a1"].output == {"x": 1} and results["a1"].attempts == 2 and results["a1"].node_type == "api"
    assert results["a1"].started_at is not None and results["a1"].elapsed_ms == 5.0
    assert [s for s, _ in await events(env, exe_id)] == [1, 2, 3, 4, 5]
    assert await reconcile(env["sessions"], env["bus"], exe_id) == {"backfilled": 0}


async def test_sweeper_ends_inline_runs_whose_api_process_died(env):
    stale = utcnow() - timedelta(seconds=60)
    dead = await new_execution(env, status="running", heartbeat_at=stale)
    never_started = await new_execution(env, status="queued", created_at=stale)
    alive = await new_execution(env, status="running", heartbeat_at=utcnow())
    async with env["sessions"]() as session:
        await session.execute(sa.update(ExecutionRow).where(ExecutionRow.id.in_([dead, never_started, alive])).values(mode="inline"))
        await session.commit()
    report = await sweep(env["sessions"], env["redis"], env["bus"], env["keys"], stale_after_s=5, max_attempts=3)
    # (the database is shared with the other tests: only these three rows are asserted on)
    assert {dead, never_started} <= set(report.failed) and alive not in report.failed + report.requeued
    for exe_id in (dead, never_started):
        execution = await row(env, exe_id)
        assert execution.status == "failed" and "API process" in execution.error
        assert (await events(env, exe_id))[-1][1] == "run.finished"
    assert (await row(env, alive)).status == "running"
