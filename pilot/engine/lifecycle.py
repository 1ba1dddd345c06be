"""The run lifecycle: every transition of ``executions.status``, each ONE fenced conditional UPDATE.

::

    queued ──claim──▶ running ──finish──▶ succeeded | failed | cancelled
       ▲                 │  └──end (sweeper: no heartbeat; launcher: could not start)──▶ failed | cancelled
       └───hand_back─────┘   (worker shutdown, or the sweeper taking a dead worker's run back)
                     ▲   │
      claim (due) ───┘   └──suspend──▶ waiting ──end (cancel)──▶ cancelled
      (waiting & resume_at <= now)       │ ▲
                                         └─┘ wake (an approval decided: resume_at = now)

The row is the lock; nothing else in πlot writes ``status``:

- :func:`claim` — ``queued``, or ``running`` with a heartbeat older than the stale threshold (its
  holder died), becomes ``running`` under a new *token* (``worker_id``) with ``attempts + 1``.
  Of two claimants exactly one matches the WHERE clause. Inline runs (API process) and
  background runs (arq workers) take the same lease, so one sweeper serves both. The same
  statement reads back what the executor needs to run it (:class:`RunRow`): claim and load are
  one round trip.
- :func:`heartbeat`, :func:`hand_back`, :func:`finish` — fenced on the holder's token: an attempt
  whose run was taken over (or ended by the sweeper) matches no row and must stop without writing.
  :func:`finish_in` is the same UPDATE inside the caller's transaction: the executor commits it
  with the run's last events (:meth:`pilot.events.recorder.EventRecorder.close_with`).
- :func:`end` — the sweeper's and launchers' forced ending: only while still unfinished and, for
  the sweeper, only while the heartbeat is still stale (a holder that beat in between wins).
- :func:`request_cancel` sets the durable flag the holder's heartbeat reads back.

The durable ``waiting`` state (``wait`` nodes, issue 12): :func:`suspend` moves the holder's
``running`` row to ``waiting`` with its due time ``resume_at`` (NULL: an approval without timeout)
and releases it — ``worker_id`` and ``heartbeat_at`` NULL, so no sweeper ever takes it for a dead
run. It is resumed exactly once by the same :func:`claim`, ``waiting`` with ``resume_at <= now``
being one more claimable condition (due times use the injectable :mod:`pilot.core.clock`).
:func:`wake` makes a waiting run due now (an approval was decided); :func:`end` with
``from_statuses=("waiting",)`` cancels one (no holder needed).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.core import clock
from pilot.core.ids import aware, utcnow
from pilot.db.models import ApprovalRow, ExecutionRow, WorkspaceRow

HOST = socket.gethostname()
UNFINISHED = ("queued", "running")  # what the sweeper and launchers may force terminal
CANCELLABLE = ("queued", "running", "waiting")
_t = ExecutionRow.__table__

Sessions = async_sessionmaker[AsyncSession]


def new_token() -> str:
    """``host:pid:random``: names the process in ``executions.worker_id`` and fences one attempt."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class RunRow:
    """What the executor reads of its execution (after the claim: status ``running``)."""

    id: str
    workspace_id: str
    workflow_id: str
    graph: dict[str, Any]
    input_data: dict[str, Any] | None
    trigger: str | None
    rerun_of: str | None
    status: str
    cancel_requested: bool
    started_at: datetime | None
    resumed_at: datetime | None
    run_limits: dict[str, Any] | None  # the workspace's run-limit overrides


# The columns of a RunRow, in order; the workspace's limits as a scalar subquery, so that a claim's
# RETURNING (or a plain SELECT) reads everything in one statement.
RUN_COLUMNS = (
    _t.c.id, _t.c.workspace_id, _t.c.workflow_id, _t.c.graph, _t.c.input_data, _t.c.trigger, _t.c.rerun_of,
    _t.c.status, _t.c.cancel_requested, _t.c.started_at, _t.c.resumed_at,
    sa.select(WorkspaceRow.run_limits).where(WorkspaceRow.id == _t.c.workspace_id).scalar_subquery().label("run_limits"),
)


@dataclass(frozen=True, slots=True)
class Claim:
    attempts: int  # including this one
    cancel_requested: bool
    resumed: bool  # an earlier attempt ran part of this execution (its events and results exist)
    from_waiting: bool = False  # this claim resumed a waiting run
    run: RunRow | None = None  # the claimed execution, read by the claiming UPDATE itself


def _stale(before: datetime) -> Any:
    return sa.or_(_t.c.heartbeat_at.is_(None), _t.c.heartbeat_at < before)


async def _one(sessions: Sessions, stmt: Any, params: dict[str, Any] | None = None) -> Any:
    async with sessions() as session:
        row = (await session.execute(stmt, params)).first()
        await session.commit()
    return row


# The two statements of every run, built once (bound by name when executed): building a statement
# costs more than the database takes to run it.
_now = sa.bindparam("now", type_=_t.c.heartbeat_at.type)
_CLAIM = sa.update(_t).where(
    _t.c.id == sa.bindparam("execution_id"),
    sa.or_(
        _t.c.status == "queued",
        sa.and_(_t.c.status == "running", _stale(sa.bindparam("stale_before", type_=_t.c.heartbeat_at.type))),
        sa.and_(_t.c.status == "waiting", _t.c.resume_at.is_not(None),
                _t.c.resume_at <= sa.bindparam("due_by", type_=_t.c.resume_at.type)),
    ),
).values(
    status="running", worker_id=sa.bindparam("token"), attempts=_t.c.attempts + 1, heartbeat_at=_now,
    started_at=sa.func.coalesce(_t.c.started_at, _now),
    resumed_at=sa.case((_t.c.status == "waiting", _now), else_=_t.c.resumed_at),
).returning(_t.c.attempts, _t.c.last_seq, *RUN_COLUMNS)
# SET status, outputs, error, usage, last_seq, finished_at: from the parameters' keys
_FINISH = sa.update(_t).where(
    _t.c.id == sa.bindparam("execution_id"), _t.c.status == "running", _t.c.worker_id == sa.bindparam("token"),
).returning(_t.c.id)


async def claim(sessions: Sessions, execution_id: str, token: str, *, stale_after_s: float) -> Claim | None:
    """queued / stale running / due waiting → running under ``token``; None if the run is not ours to run."""
    now = utcnow()
    row = await _one(sessions, _CLAIM, {
        "execution_id": execution_id, "token": token, "now": now,
        "stale_before": now - timedelta(seconds=stale_after_s), "due_by": clock.now(),
    })
    if row is None:
        return None
    attempts, last_seq, *columns = row
    run = RunRow(*columns)
    from_waiting = run.resumed_at is not None and abs((aware(run.resumed_at) - now).total_seconds()) < 1e-3
    return Claim(attempts=attempts, cancel_requested=bool(run.cancel_requested), resumed=attempts > 1 or last_seq > 0,
                 from_waiting=from_waiting, run=run)


async def suspend(
    sessions: Sessions, execution_id: str, token: str, *, resume_at: datetime | None, approval_nodes: list[str],
    usage: dict[str, Any], last_seq: int,
) -> bool:
    """running → waiting by its holder: released (no token, no heartbeat), due at ``resume_at``
    (NULL: only an approval wakes it). If one of ``approval_nodes`` was decided meanwhile, it is
    due now. ``attempts`` restarts: a wait is not a crash. False: the holder lost the run."""
    due_at: Any = resume_at
    if approval_nodes:
        decided = sa.exists().where(ApprovalRow.execution_id == execution_id, ApprovalRow.node_id.in_(approval_nodes))
        later = sa.null() if resume_at is None else sa.literal(resume_at, type_=_t.c.resume_at.type)
        due_at = sa.case((decided, clock.now()), else_=later)
    row = await _one(sessions, sa.update(_t).where(
        _t.c.id == execution_id, _t.c.status == "running", _t.c.worker_id == token,
    ).values(
        status="waiting", worker_id=None, heartbeat_at=None, attempts=0, resume_at=due_at, usage=usage, last_seq=last_seq,
    ).returning(_t.c.id))
    return row is not None


async def wake(sessions: Sessions, execution_id: str) -> str | None:
    """Make a run due now (an approval was decided). Matching ``running`` too serialises this
    UPDATE with a concurrent :func:`suspend` on the row lock (its CASE sees the decision, or this
    sees its result). Returns the status after the update, None if the run is over."""
    row = await _one(sessions, sa.update(_t).where(
        _t.c.id == execution_id, _t.c.status.in_(("running", "waiting")),
    ).values(resume_at=clock.now()).returning(_t.c.status))
    return None if row is None else row[0]


async def heartbeat(sessions: Sessions, execution_id: str, token: str) -> bool | None:
    """Refresh the holder's heartbeat. Returns ``cancel_requested``, or None: the lease is lost."""
    # Fenced on the token only: a run that just finished keeps its worker_id, so it is not "lost".
    row = await _one(sessions, sa.update(_t).where(_t.c.id == execution_id, _t.c.worker_id == token)
                     .values(heartbeat_at=utcnow()).returning(_t.c.cancel_requested))
    return None if row is None else bool(row[0])


# FOR SHARE on PostgreSQL: a takeover's claim (an UPDATE of the row) waits until the writer's
# transaction ends, so the new holder reads where the stream stands only after these rows are in.
_HOLDS = sa.select(_t.c.id).where(_t.c.id == sa.bindparam("execution_id"), _t.c.worker_id == sa.bindparam("token")
                                 ).with_for_update(read=True)


async def holds_in(session: AsyncSession, execution_id: str, token: str) -> bool:
    """Whether ``token`` still holds the run, in the caller's (writing) transaction: the fence of
    the event batches an attempt writes behind (:class:`pilot.events.recorder.EventRecorder`)."""
    return (await session.execute(_HOLDS, {"execution_id": execution_id, "token": token})).first() is not None


async def hand_back(sessions: Sessions, execution_id: str, *, token: str | None = None, stale_before: datetime | None = None) -> bool:
    """running → queued, by its holder (``token``) or by the sweeper (heartbeat older than ``stale_before``)."""
    cond = [_t.c.id == execution_id, _t.c.status == "running"]
    if token is not None:
        cond.append(_t.c.worker_id == token)
    if stale_before is not None:
        cond.append(_stale(stale_before))
    return await _one(sessions, sa.update(_t).where(*cond).values(status="queued", worker_id=None).returning(_t.c.id)) is not None


def _finish_params(execution_id: str, token: str, **values: Any) -> dict[str, Any]:
    return {"execution_id": execution_id, "token": token, **values, "finished_at": utcnow()}


async def finish(
    sessions: Sessions, execution_id: str, token: str, *, status: str, outputs: dict[str, Any] | None,
    error: str | None, usage: dict[str, Any], last_seq: int,
) -> bool:
    """running → terminal by its holder. False: the run was ended or taken over by someone else."""
    row = await _one(sessions, _FINISH, _finish_params(execution_id, token, status=status, outputs=outputs, error=error,
                                                       usage=usage, last_seq=last_seq))
    return row is not None


async def finish_in(
    session: AsyncSession, execution_id: str, token: str, *, status: str, outputs: dict[str, Any] | None,
    error: str | None, usage: dict[str, Any], last_seq: int,
) -> bool:
    """:func:`finish` in the caller's transaction (the caller commits, or rolls back on False)."""
    result = await session.execute(_FINISH, _finish_params(execution_id, token, status=status, outputs=outputs,
                                                           error=error, usage=usage, last_seq=last_seq))
    return result.first() is not None


async def end(
    sessions: Sessions, execution_id: str, *, status: str, error: str, stale_before: datetime | None = None,
    from_statuses: tuple[str, ...] = UNFINISHED,
) -> tuple[datetime | None, datetime | None, dict[str, Any] | None] | None:
    """Force an unfinished run terminal (sweeper, launcher). Returns ``(started_at, created_at,
    usage)`` when this call ended it, None when it was already ended or its holder is alive."""
    cond = [_t.c.id == execution_id, _t.c.status.in_(from_statuses)]
    if stale_before is not None:
        cond.append(_stale(stale_before))
    row = await _one(sessions, sa.update(_t).where(*cond).values(
        status=status, error=error, finished_at=utcnow(), worker_id=None,
    ).returning(_t.c.started_at, _t.c.created_at, _t.c.usage))
    return None if row is None else (row[0], row[1], row[2])


async def set_last_seq(sessions: Sessions, execution_id: str, last_seq: int) -> None:
    """Record the stream's last seq after a forced ending wrote ``run.finished`` (not a transition)."""
    async with sessions() as session:
        await session.execute(sa.update(_t).where(_t.c.id == execution_id).values(last_seq=last_seq))
        await session.commit()


async def request_cancel(session: AsyncSession, execution_id: str) -> bool:
    """Set the durable cancel flag of an unfinished run (its holder's heartbeat reads it back; a
    waiting run's resume claim returns it)."""
    # The ORM entity (not the table): the caller's session sees the flag on rows it already loaded.
    result = await session.execute(
        sa.update(ExecutionRow).where(ExecutionRow.id == execution_id, ExecutionRow.status.in_(CANCELLABLE))
        .values(cancel_requested=True)
    )
    await session.commit()
    return result.rowcount == 1
