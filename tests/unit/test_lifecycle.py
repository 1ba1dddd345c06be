"""The run lifecycle's fences, on a real (SQLite) database: exactly one claimant wins, only the
holder finishes, the sweeper only ends or takes back runs whose heartbeat is stale."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pilot.core.ids import utcnow
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.db.models import ExecutionRow, WorkflowRow, WorkspaceRow
from pilot.engine import lifecycle
from pilot.settings import DatabaseSettings


@pytest.fixture
async def sessions(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/l.db"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(DatabaseSettings(url=url))
    factory = create_session_factory(engine)
    async with factory() as session:
        session.add(WorkspaceRow(id="ws_1", name="w", created_at=utcnow()))
        await session.flush()
        session.add(WorkflowRow(id="wf_1", workspace_id="ws_1", name="w", graph={}, created_at=utcnow(), updated_at=utcnow()))
        await session.flush()
        session.add(ExecutionRow(id="exe_1", workspace_id="ws_1", workflow_id="wf_1", workflow_version=1, graph={},
                                 status="queued", mode="inline", input_data={}, usage={}, created_at=utcnow()))
        await session.commit()
    yield factory
    await engine.dispose()


async def _row(sessions) -> ExecutionRow:
    async with sessions() as session:
        return await session.get(ExecutionRow, "exe_1")


async def test_exactly_one_claimant_wins(sessions) -> None:
    claims = await asyncio.gather(*(lifecycle.claim(sessions, "exe_1", f"t{i}", stale_after_s=30) for i in range(5)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1 and winners[0].attempts == 1
    row = await _row(sessions)
    assert row.status == "running" and row.worker_id.startswith("t")


async def test_only_the_holder_heartbeats_and_finishes(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    assert await lifecycle.heartbeat(sessions, "exe_1", "intruder") is None
    assert await lifecycle.heartbeat(sessions, "exe_1", "holder") is False
    ended = dict(status="succeeded", outputs={"a": 1}, error=None, usage={}, last_seq=3)
    assert not await lifecycle.finish(sessions, "exe_1", "intruder", **ended)
    assert await lifecycle.finish(sessions, "exe_1", "holder", **ended)
    assert not await lifecycle.finish(sessions, "exe_1", "holder", **{**ended, "status": "failed"})  # once
    assert (await _row(sessions)).status == "succeeded"


async def test_the_sweeper_acts_only_on_stale_runs(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    a_while_ago = utcnow() - timedelta(seconds=30)
    assert await lifecycle.end(sessions, "exe_1", status="failed", error="gone", stale_before=a_while_ago) is None
    assert not await lifecycle.hand_back(sessions, "exe_1", stale_before=a_while_ago)
    async with sessions() as session:  # the holder stops beating
        await session.execute(sa.update(ExecutionRow).values(heartbeat_at=utcnow() - timedelta(seconds=60)))
        await session.commit()
    assert await lifecycle.hand_back(sessions, "exe_1", stale_before=a_while_ago)
    assert (await _row(sessions)).status == "queued"
    claim = await lifecycle.claim(sessions, "exe_1", "next", stale_after_s=30)
    assert claim is not None and claim.attempts == 2 and claim.resumed
    assert await lifecycle.heartbeat(sessions, "exe_1", "holder") is None  # the old holder is fenced out


async def test_cancel_is_requested_only_while_unfinished(sessions) -> None:
    async with sessions() as session:
        assert await lifecycle.request_cancel(session, "exe_1")
    assert await lifecycle.claim(sessions, "exe_1", "h", stale_after_s=30)
    assert await lifecycle.heartbeat(sessions, "exe_1", "h") is True
    await lifecycle.finish(sessions, "exe_1", "h", status="cancelled", outputs=None, error="x", usage={}, last_seq=1)
    async with sessions() as session:
        assert not await lifecycle.request_cancel(session, "exe_1")


async def test_holds_in_answers_for_the_holder_only_and_a_finished_run_keeps_its_holder(sessions) -> None:
    async def holds(token: str) -> bool:
        async with sessions() as session:
            return await lifecycle.holds_in(session, "exe_1", token)

    assert not await holds("first")  # queued: nobody holds it
    assert await lifecycle.claim(sessions, "exe_1", "first", stale_after_s=30)
    assert await holds("first") and not await holds("second")
    assert await lifecycle.hand_back(sessions, "exe_1", token="first")  # requeued: the holder let go
    assert not await holds("first")
    assert await lifecycle.claim(sessions, "exe_1", "second", stale_after_s=30)
    assert not await holds("first") and await holds("second")
    assert await lifecycle.finish(sessions, "exe_1", "second", status="succeeded", outputs={}, error=None, usage={}, last_seq=2)
    assert await holds("second")  # its last events may still be written behind the end
