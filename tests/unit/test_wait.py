"""The pure parts of durable waits: timestamp parsing, due times, validation, the planner's park,
and the waiting transitions of the lifecycle on a real (SQLite) database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pilot.core import clock
from pilot.core.ids import utcnow
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.db.models import ApprovalRow, ExecutionRow, WorkflowRow, WorkspaceRow
from pilot.engine import lifecycle
from pilot.engine.nodes.wait import due_time, parse_timestamp, until_error, wait_kind
from pilot.engine.planner import Planner
from pilot.settings import DatabaseSettings
from pilot.workflows.model import Approval, WaitConfig
from pilot.workflows.validation import validate_data

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-03T09:00:00Z", datetime(2026, 12, 3, 9, tzinfo=UTC)),
    ("2026-12-03T10:00:00+01:00", datetime(2026, 12, 3, 9, tzinfo=UTC)),
    ("2026-12-03T09:00:00", datetime(2026, 12, 3, 9, tzinfo=UTC)),  # naive: UTC
    ("2026-12-03", datetime(2026, 12, 3, tzinfo=UTC)),
    (1796288400, datetime(2026, 12, 3, 9, tzinfo=UTC)),  # epoch seconds
    (datetime(2026, 12, 3, 9), datetime(2026, 12, 3, 9, tzinfo=UTC)),
])
def test_parse_timestamp(value, expected) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["tomorrow", "", "2026-13-01", None, True, [1]])
def test_parse_timestamp_refuses_what_is_not_a_time(value) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_until_error_checks_literals_and_template_syntax() -> None:
    assert until_error("2026-12-03T09:00:00Z") is None
    assert until_error("{{ inputs.when }}") is None
    assert "ISO-8601" in until_error("next tuesday")
    assert "syntax" in until_error("{{ inputs.when ")


def test_due_times() -> None:
    assert due_time(WaitConfig(duration_s=172_800), NOW) == NOW + timedelta(days=2)
    until = WaitConfig(until="{{ x }}")
    assert wait_kind(until) == "until"
    assert due_time(until, NOW, "2026-12-02T09:00:00Z") == NOW + timedelta(days=1)
    with pytest.raises(ValueError, match="days ahead"):
        due_time(until, NOW, "2030-01-01T00:00:00Z")
    # "an hour before the appointment": the appointment's time, moved back an hour
    before = WaitConfig(until="{{ inputs.event.start }}", offset_s=-3600)
    assert due_time(before, NOW, "2026-12-02T09:00:00Z") == NOW + timedelta(hours=23)
    approval = WaitConfig(approval=Approval(prompt="ok?"))
    assert wait_kind(approval) == "approval" and due_time(approval, NOW) is None
    assert due_time(WaitConfig(approval=Approval(prompt="ok?", timeout_s=60)), NOW) == NOW + timedelta(minutes=1)


def test_the_clock_offset_shifts_due_times_not_real_time() -> None:
    try:
        clock.set_offset(172_800)
        assert abs((clock.now() - utcnow()).total_seconds() - 172_800) < 1
        assert abs((clock.real(clock.now()) - utcnow()).total_seconds()) < 1
    finally:
        clock.set_offset(0)
    assert abs((clock.now() - utcnow()).total_seconds()) < 1


def _graph(wait_config: dict, *, in_loop: bool = False) -> dict:
    wait = {"id": "pause", "type": "wait", "config": wait_config}
    if in_loop:
        wait = {"id": "each", "type": "loop", "config": {"items": "{{ [1] }}", "body": {"nodes": [wait], "edges": []}}}
    mid = wait["id"]
    return {"nodes": [{"id": "start", "type": "input", "config": {}}, wait,
                      {"id": "out", "type": "output", "config": {"outputs": {"x": "1"}}}],
            "edges": [{"id": "a", "source": "start", "target": mid}, {"id": "b", "source": mid, "target": "out"}]}


@pytest.mark.parametrize(("config", "problem"), [
    ({"duration_s": 60}, None),
    ({"until": "2026-12-03T09:00:00Z"}, None),
    ({"until": "{{ inputs.when }}"}, None),
    ({"approval": {"prompt": "Publish?", "approvers": ["moderator"], "timeout_s": 3600}}, None),
    ({}, "exactly one"),
    ({"duration_s": 60, "approval": {"prompt": "x"}}, "exactly one"),
    ({"until": "next week"}, "config.until"),
    ({"until": "{{ nodes.later.output }}"}, "not upstream"),
    ({"until": "{{ inputs.when }}", "offset_s": -3600}, None),
    ({"duration_s": 60, "offset_s": -3600}, "needs it set"),
])
def test_validation_of_wait_configs(config, problem) -> None:
    _, report = validate_data(_graph(config))
    messages = " | ".join(p.message for p in report.problems)
    if problem is None:
        assert report.valid, messages
    else:
        assert not report.valid and problem in messages


def test_a_wait_inside_a_loop_body_is_refused() -> None:
    _, report = validate_data(_graph({"duration_s": 5}, in_loop=True))
    assert not report.valid and any(p.code == "wait_in_loop" for p in report.problems)


def test_planner_park_leaves_the_node_unresolved_and_resumable() -> None:
    planner = Planner(["a", "w", "b"], [("a", "w", None), ("w", "b", None)])
    (first,) = planner.start()
    planner.running(first)
    (wait,) = planner.succeeded(first).ready
    planner.running(wait)
    planner.park(wait)
    assert not planner.finished and planner.state[wait] == "ready"
    # the resumed run replays `a` and gets `w` ready again
    again = Planner(["a", "w", "b"], [("a", "w", None), ("w", "b", None)])
    ready, skipped = again.replay({"a": ("succeeded", None)})
    assert ready == ["w"] and skipped == []


# ------------------------------------------------------------------ lifecycle: waiting
@pytest.fixture
async def sessions(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/w.db"
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
    clock.set_offset(0)
    await engine.dispose()


async def _row(sessions) -> ExecutionRow:
    async with sessions() as session:
        return await session.get(ExecutionRow, "exe_1")


async def test_suspend_releases_the_run_and_only_a_due_claim_resumes_it_once(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    due = clock.now() + timedelta(days=2)
    assert not await lifecycle.suspend(sessions, "exe_1", "intruder", resume_at=due, approval_nodes=[], usage={}, last_seq=3)
    assert await lifecycle.suspend(sessions, "exe_1", "holder", resume_at=due, approval_nodes=[], usage={"n": 1}, last_seq=3)
    row = await _row(sessions)
    assert row.status == "waiting" and row.worker_id is None and row.heartbeat_at is None and row.attempts == 0
    assert await lifecycle.heartbeat(sessions, "exe_1", "holder") is None  # the old holder holds nothing
    # not due: nobody may claim it, however stale its (absent) heartbeat
    assert await lifecycle.claim(sessions, "exe_1", "early", stale_after_s=0) is None
    clock.set_offset(2 * 86_400 + 1)  # two days later
    claims = await asyncio.gather(*(lifecycle.claim(sessions, "exe_1", f"t{i}", stale_after_s=30) for i in range(5)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1 and winners[0].from_waiting and winners[0].resumed and winners[0].attempts == 1
    row = await _row(sessions)
    assert row.status == "running" and row.resumed_at is not None


async def test_an_approval_without_timeout_waits_until_woken(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    assert await lifecycle.suspend(sessions, "exe_1", "holder", resume_at=None, approval_nodes=["ok"], usage={}, last_seq=2)
    assert (await _row(sessions)).resume_at is None
    clock.set_offset(10 * 365 * 86_400)
    assert await lifecycle.claim(sessions, "exe_1", "never", stale_after_s=0) is None
    clock.set_offset(0)
    assert await lifecycle.wake(sessions, "exe_1") == "waiting"
    assert await lifecycle.claim(sessions, "exe_1", "resumer", stale_after_s=30) is not None


async def test_a_decision_stored_before_the_suspend_makes_it_due_at_once(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    async with sessions() as session:  # decided while the run was still running other branches
        session.add(ApprovalRow(execution_id="exe_1", workspace_id="ws_1", node_id="ok", approved=True, comment="",
                                decided_by="k", decided_at=utcnow()))
        await session.commit()
    assert await lifecycle.wake(sessions, "exe_1") == "running"
    assert await lifecycle.suspend(sessions, "exe_1", "holder", resume_at=None, approval_nodes=["ok"], usage={}, last_seq=2)
    assert (await _row(sessions)).resume_at is not None
    assert await lifecycle.claim(sessions, "exe_1", "resumer", stale_after_s=30) is not None


async def test_cancel_ends_a_waiting_run_and_beats_the_resume(sessions) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    assert await lifecycle.suspend(sessions, "exe_1", "holder", resume_at=clock.now(), approval_nodes=[], usage={}, last_seq=2)
    async with sessions() as session:
        assert await lifecycle.request_cancel(session, "exe_1")
    # the sweeper's forced ending never touches a waiting run...
    assert await lifecycle.end(sessions, "exe_1", status="failed", error="dead?", stale_before=utcnow()) is None
    # ...a cancel does, and then the due resume finds nothing to claim
    assert await lifecycle.end(sessions, "exe_1", status="cancelled", error="c", from_statuses=("waiting",)) is not None
    assert await lifecycle.claim(sessions, "exe_1", "resumer", stale_after_s=30) is None
    assert (await _row(sessions)).status == "cancelled"


# ------------------------------------------------ resuming: timers, the sweep, the SSE stream
class _Runtime:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task] = []

    def spawn(self, coro, *, name=None) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task

    async def aclose(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class _Deps:
    def __init__(self, sessions, name: str) -> None:
        self.sessions = sessions
        self.name = name


async def _suspended(sessions, resume_at) -> None:
    assert await lifecycle.claim(sessions, "exe_1", "holder", stale_after_s=30)
    assert await lifecycle.suspend(sessions, "exe_1", "holder", resume_at=resume_at, approval_nodes=[], usage={}, last_seq=1)


async def test_the_sweep_leaves_a_due_run_to_its_own_process_timer_and_backs_it_up_after_a_grace(sessions, monkeypatch) -> None:
    from pilot.engine import executor
    from pilot.engine.waits import ResumeTimers

    claimed: list[str] = []

    async def fake_execute(execution_id, deps):  # the real claim decides who resumes
        if await lifecycle.claim(deps.sessions, execution_id, deps.name, stale_after_s=30):
            claimed.append(deps.name)

    monkeypatch.setattr(executor, "execute", fake_execute)
    due = clock.now() + timedelta(seconds=0.3)
    await _suspended(sessions, due)
    own, other = _Runtime(), _Runtime()
    mine = ResumeTimers(own, _Deps(sessions, "own"), grace_s=0.5)
    theirs = ResumeTimers(other, _Deps(sessions, "other"), grace_s=0.5)
    try:
        mine.schedule("exe_1", due)  # the suspending process's timer
        assert await mine.sweep(horizon_s=10) == [] and mine.pending("exe_1") == due  # its own sweep keeps it
        assert await theirs.sweep(horizon_s=10) == []
        assert theirs.pending("exe_1") == due + timedelta(seconds=0.5)  # another process only backs it up
        await asyncio.sleep(1.2)
        assert claimed == ["own"]  # resumed once, by its own process
    finally:
        await own.aclose()
        await other.aclose()


async def test_a_due_run_whose_timer_was_lost_is_resumed_by_any_sweep(sessions, monkeypatch) -> None:
    from pilot.engine import executor
    from pilot.engine.waits import ResumeTimers

    claimed: list[str] = []

    async def fake_execute(execution_id, deps):
        if await lifecycle.claim(deps.sessions, execution_id, deps.name, stale_after_s=30):
            claimed.append(deps.name)

    monkeypatch.setattr(executor, "execute", fake_execute)
    await _suspended(sessions, clock.now() - timedelta(seconds=1))  # overdue, nobody's timer
    runtime = _Runtime()
    timers = ResumeTimers(runtime, _Deps(sessions, "sweeper"), grace_s=0.5)
    try:
        assert await timers.sweep(horizon_s=10) == ["exe_1"]
        await asyncio.gather(*runtime.tasks)
        assert claimed == ["sweeper"] and (await _row(sessions)).status == "running"
    finally:
        await runtime.aclose()


async def test_a_timer_whose_resume_fails_retries_it(sessions, monkeypatch) -> None:
    from pilot.engine import executor, waits

    calls: list[str] = []

    async def flaky_execute(execution_id, deps):
        calls.append(execution_id)
        if len(calls) < 3:
            raise ConnectionError("the database is busy")
        assert await lifecycle.claim(deps.sessions, execution_id, deps.name, stale_after_s=30)

    monkeypatch.setattr(executor, "execute", flaky_execute)
    monkeypatch.setattr(waits, "RESUME_BACKOFF_S", 0.01)
    await _suspended(sessions, clock.now())
    runtime = _Runtime()
    timers = waits.ResumeTimers(runtime, _Deps(sessions, "own"), grace_s=5)
    try:
        timers.schedule("exe_1", clock.now())
        await asyncio.wait_for(asyncio.gather(*runtime.tasks), 5)
        assert len(calls) == 3 and (await _row(sessions)).status == "running"
    finally:
        await runtime.aclose()


async def test_an_idle_sse_stream_on_the_in_memory_bus_sees_events_another_process_wrote(sessions, monkeypatch) -> None:
    """A waiting run resumed by another process (its timer, a sweep, an approval decided there)
    writes its events to the database and that process's bus, never to this one's: the stream
    served here must still deliver them and end (it used to hang on pings forever)."""
    from pilot.db.models import StreamEventRow
    from pilot.events import sse
    from pilot.events.bus import InMemoryBus

    monkeypatch.setattr(sse, "IDLE_POLL_S", 0.05)

    async def write(*events: tuple[int, str]) -> None:
        async with sessions() as session:
            session.add_all(StreamEventRow(stream_id="exe_1", seq=seq, event=name, data={"node_id": "pause"})
                            for seq, name in events)
            await session.commit()

    await write((1, "run.started"), (2, "node.waiting"))
    bus = InMemoryBus()
    messages = sse.stream_messages(stream_id="exe_1", bus=bus, sessions=sessions)
    seen = [await anext(messages), await anext(messages)]
    rest = asyncio.ensure_future(anext(messages))
    await asyncio.sleep(0.2)
    assert not rest.done()  # idle: nothing new yet
    await write((3, "node.resumed"), (4, "run.finished"))  # "another process" resumed and finished it
    seen.append(await asyncio.wait_for(rest, 5))
    seen.append(await asyncio.wait_for(anext(messages), 5))
    assert [m.split(b"\r\n")[0] for m in seen] == [b"id: 1", b"id: 2", b"id: 3", b"id: 4"]
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(messages), 5)  # ended after run.finished
    await bus.aclose()
