"""A run's bookkeeping in few round trips, on real SQLite and PostgreSQL databases: a fresh run
claims and reads its execution in one statement, asks nothing else of the database, and commits
its terminal row in the same transaction as its last events (``run.finished`` included); when the
database refuses that transaction the run still ends, step by step, truthfully."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from pilot.core.ids import utcnow
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.db.models import ExecutionRow, NodeResultRow, StreamEventRow, WorkflowRow, WorkspaceRow
from pilot.engine.executor import EngineDeps, execute
from pilot.engine.nodes.base import EngineServices
from pilot.events import recorder as recorder_module
from pilot.events.bus import InMemoryBus
from pilot.events.recorder import EventRecorder
from pilot.settings import Settings
from tests.support.scripted import scripted_tool, tool


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A migrated database: a fresh SQLite file, or the session's PostgreSQL database."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    url = f"sqlite+aiosqlite:///{tmp_path}/run.db"
    upgrade(url)
    return url


@pytest.fixture
async def db(db_url, tmp_path):
    url = db_url
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path / ".pilot"), "DATABASE_URL": url})
    engine = create_engine(settings.db)
    sessions = create_session_factory(engine)
    ws, wf = f"ws_{uuid.uuid4().hex[:8]}", f"wf_{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        session.add(WorkspaceRow(id=ws, name=ws, created_at=utcnow()))
        await session.flush()
        session.add(WorkflowRow(id=wf, workspace_id=ws, name="w", graph={}, created_at=utcnow(), updated_at=utcnow()))
        await session.commit()
    deps = EngineDeps(settings=settings, sessions=sessions, bus=InMemoryBus(), services=EngineServices(settings=settings))
    yield deps, engine, (ws, wf)
    await engine.dispose()


async def _queued(deps, ids, nodes: list[dict], edges: list[dict]) -> str:
    execution_id = f"exe_{uuid.uuid4().hex[:10]}"
    async with deps.sessions() as session:
        session.add(ExecutionRow(id=execution_id, workspace_id=ids[0], workflow_id=ids[1], workflow_version=1,
                                 graph={"nodes": nodes, "edges": edges}, status="queued", input_data={}, usage={},
                                 created_at=utcnow()))
        await session.commit()
    return execution_id


def _chain(n: int, **arguments) -> tuple[list[dict], list[dict]]:
    nodes = [tool(f"n{i}", **arguments) for i in range(n)]
    return nodes, [{"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)]


async def _stored(deps, execution_id: str):
    async with deps.sessions() as session:
        row = await session.get(ExecutionRow, execution_id)
        events = (await session.execute(sa.select(StreamEventRow.seq, StreamEventRow.event).where(
            StreamEventRow.stream_id == execution_id).order_by(StreamEventRow.seq))).all()
        results = (await session.scalars(sa.select(NodeResultRow.node_id).where(NodeResultRow.execution_id == execution_id))).all()
    return row, [tuple(e) for e in events], sorted(results)


class Transactions:
    """The statements of each transaction, per connection, as the database received them."""

    def __init__(self, engine) -> None:
        self.done: list[list[str]] = []  # committed transactions
        self.statements: list[str] = []  # every statement, committed or not
        self._open: dict[int, list[str]] = defaultdict(list)
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "commit", self._commit)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(" ".join(statement.split()[:3]).upper())
        self._open[id(conn)].append(self.statements[-1])

    def _commit(self, conn) -> None:
        self.done.append(self._open.pop(id(conn), []))


async def test_a_fresh_run_reads_nothing_and_ends_in_one_transaction(db) -> None:
    deps, engine, ids = db
    with scripted_tool():
        execution_id = await _queued(deps, ids, *_chain(10))
        stream = deps.bus.subscribe(execution_id)
        transactions = Transactions(engine)
        assert await execute(execution_id, deps) == "succeeded"
    statements = transactions.statements
    assert not [s for s in statements if s.startswith("SELECT")]  # no load, seq, waits or results query
    assert statements.count("UPDATE EXECUTIONS SET") == 2  # the claim (reading the run) and the end
    claim, end = [tx for tx in transactions.done if "UPDATE EXECUTIONS SET" in tx]
    assert claim == ["UPDATE EXECUTIONS SET"]
    # The last transaction: the terminal row with the last events (run.finished, stored below)
    assert transactions.done[-1] is end and "INSERT INTO STREAM_EVENTS" in end
    row, events, results = await _stored(deps, execution_id)
    assert row.status == "succeeded" and row.last_seq == 22 == len(events)
    assert events[0] == (1, "run.started") and events[-1] == (22, "run.finished")
    assert [seq for seq, _ in events] == list(range(1, 23))
    assert results == sorted(f"n{i}" for i in range(10))
    published = [(e.seq, e.event) async for e in stream]  # the live stream: the same, and ended
    assert published == events


async def test_an_end_the_database_refuses_is_written_step_by_step(db, monkeypatch) -> None:
    deps, engine, ids = db
    real_persist = recorder_module.persist_events

    async def refuse_poison(session, rows):
        if any("poison" in repr(r["data"]) for r in rows):
            raise sa.exc.DataError("INSERT", {}, ValueError("value refused"))
        await real_persist(session, rows)

    monkeypatch.setattr(recorder_module, "persist_events", refuse_poison)
    monkeypatch.setattr(recorder_module, "backoff_delay", lambda *a, **k: 0)
    with scripted_tool():
        nodes = [tool("a"), tool("bad", value={"poison": 1}), tool("c")]
        execution_id = await _queued(deps, ids, nodes, [{"id": "e1", "source": "a", "target": "bad"},
                                                        {"id": "e2", "source": "bad", "target": "c"}])
        assert await execute(execution_id, deps) == "failed"
    row, events, results = await _stored(deps, execution_id)
    assert row.status == "failed" and "(node.finished)" in row.error and "value refused" in row.error
    assert events[-1][1] == "run.finished" and row.last_seq == events[-1][0] == 8
    assert [seq for seq, _ in events] == [1, 2, 3, 4, 6, 7, 8]  # only the refused event (bad's node.finished) is missing
    assert results == ["a", "c"]


async def test_a_fenced_out_end_writes_the_events_but_no_final_one(db) -> None:
    deps, _, _ = db
    stream_id = f"exe_{uuid.uuid4().hex[:10]}"
    recorder = EventRecorder(stream_id, bus=deps.bus, sessions=deps.sessions)
    recorder.emit_nowait("a", {"n": 1})
    recorder.emit_nowait("b", {"n": 2})

    async def refused(session) -> bool:
        return False

    assert await recorder.close_with("run.finished", {"status": "succeeded"}, refused) is False
    await recorder.aclose(close_stream=False)
    async with deps.sessions() as session:
        stored = (await session.execute(sa.select(StreamEventRow.seq, StreamEventRow.event).where(
            StreamEventRow.stream_id == stream_id).order_by(StreamEventRow.seq))).all()
    assert [tuple(r) for r in stored] == [(1, "a"), (2, "b")]
    assert [e.event for e in deps.bus._streams[stream_id].events] == ["a", "b"]  # nothing final published


async def test_a_run_ended_by_another_process_stops_without_a_second_run_finished(db, monkeypatch) -> None:
    from pilot.background.sweeper import end_execution
    from pilot.engine import lifecycle

    deps, _, ids = db
    real_finish_in = lifecycle.finish_in

    async def swept_first(session, execution_id, token, **kw):  # the sweeper ends it just before
        assert await end_execution(deps.sessions, deps.bus, execution_id, status="failed", error="worker lost")
        return await real_finish_in(session, execution_id, token, **kw)

    monkeypatch.setattr(lifecycle, "finish_in", swept_first)
    with scripted_tool():
        execution_id = await _queued(deps, ids, [tool("a")], [])
        assert await execute(execution_id, deps) == "interrupted"
    row, events, results = await _stored(deps, execution_id)
    assert row.status == "failed" and row.error == "worker lost"
    assert events == [(1, "run.started"), (2, "node.started"), (3, "node.finished"), (4, "run.finished")]
    assert results == ["a"]  # what the attempt did is kept
