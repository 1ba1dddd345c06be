"""The ``wait`` node: a durable pause — for ``duration_s``, ``until`` a time, or for an ``approval``.

First reach: the due time is computed (``now + duration_s``; ``until`` resolved and parsed; an
approval's ``timeout_s``), ``node.waiting {node_id, kind, since, until?, approval?}`` is emitted
and :class:`~pilot.engine.errors.WaitSuspended` parks the node (the engine suspends the run when
nothing else can progress: status ``waiting``, no worker, no task). The recorded
``node.waiting`` is the wait's durable state: a resumed run finds it in its event log
(:func:`recorded_waits`) and never recomputes the due time. When due — or decided — the node
emits ``node.resumed`` and completes:

- time waits: output ``{"waited_s", "resumed_at"}``;
- approvals: approved → ``{"approved": true, "comment", "by", "decided_at"}``; rejected (or
  timed out, recorded as a rejection by ``timeout``) → a non-retryable failure
  ``"rejected: <comment>"``, so the node's ``on_error`` applies (``continue`` / ``default``
  let the run go on).

Times use the injectable clock (:mod:`pilot.core.clock`). A wait inside a loop body cannot
suspend the run (validation refuses it; the runner fails clearly if it gets there).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pilot.core import clock
from pilot.core.templating import value_syntax_error
from pilot.db.models import StreamEventRow
from pilot.engine.errors import NodeError, WaitSuspended
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import resolve_value

MAX_UNTIL_AHEAD = timedelta(days=366)


# ---------------------------------------------------------------------------------- pure parts
def parse_timestamp(value: Any) -> datetime:
    """An ISO-8601 timestamp (``Z`` or an offset; naive means UTC), a date (midnight UTC), or
    epoch seconds → aware UTC datetime. Raises ValueError naming what was wrong."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a valid epoch timestamp") from exc
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("the timestamp is empty")
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        except ValueError:
            raise ValueError(f"{text[:80]!r} is not an ISO-8601 timestamp (e.g. 2026-12-01T09:00:00Z)") from None
    else:
        raise ValueError(f"expected an ISO-8601 timestamp, got {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def until_error(src: str) -> str | None:
    """Static check of ``config.until``: a literal must be a timestamp; a template must compile."""
    if "{{" in src or "{%" in src:
        error = value_syntax_error(src)
        return f"jinja2 syntax error: {error}" if error else None
    try:
        parse_timestamp(src)
    except ValueError as exc:
        return str(exc)
    return None


def wait_kind(config: Any) -> str:
    """``duration`` | ``until`` | ``approval`` (validation guarantees exactly one is set)."""
    if config.approval is not None:
        return "approval"
    return "until" if config.until is not None else "duration"


def due_time(config: Any, now: datetime, until_value: Any = None) -> datetime | None:
    """When a wait first reached at ``now`` is due: ``now + duration_s``, the parsed ``until``
    value, an approval's ``now + timeout_s`` — or None (an approval without timeout)."""
    kind = wait_kind(config)
    if kind == "duration":
        return now + timedelta(seconds=float(config.duration_s))
    if kind == "until":
        due = parse_timestamp(until_value) + timedelta(seconds=float(config.offset_s or 0))
        if due - now > MAX_UNTIL_AHEAD:
            raise ValueError(f"{due.isoformat()} is more than {MAX_UNTIL_AHEAD.days} days ahead")
        return due
    timeout = config.approval.timeout_s
    return None if timeout is None else now + timedelta(seconds=float(timeout))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


# ---------------------------------------------------------------------------------- the runner
async def recorded_waits(sessions: Any, execution_id: str) -> dict[str, dict[str, Any]]:
    """``node_id -> node.waiting data`` (the first one; ``resumed`` set when a ``node.resumed``
    followed) from the stream's persisted events: a resumed run's wait state."""
    async with sessions() as session:
        rows = (await session.execute(
            sa.select(StreamEventRow.event, StreamEventRow.data).where(
                StreamEventRow.stream_id == execution_id, StreamEventRow.event.in_(("node.waiting", "node.resumed")),
            ).order_by(StreamEventRow.seq)
        )).all()
    waits: dict[str, dict[str, Any]] = {}
    for event, data in rows:
        node_id = data.get("node_id")
        if event == "node.waiting":
            waits.setdefault(node_id, dict(data))
        elif node_id in waits:
            waits[node_id]["resumed"] = True
    return waits


class WaitRunner:
    """Runs ``wait`` nodes (see the module docstring). Holds no concurrency slot."""

    node_type = "wait"
    slotless = True

    async def run(self, ctx: NodeContext) -> Any:
        if ctx.waits is None:
            raise NodeError("a wait node cannot pause inside a loop body", retryable=False)
        node_id, config, now = ctx.node.id, ctx.node.config, clock.now()
        record = ctx.waits.get(node_id)
        if record is None:
            return await self._first(ctx, node_id, config, now)
        due = parse_timestamp(record["until"]) if record.get("until") else None
        if record.get("kind") == "approval":
            return await self._decided(ctx, node_id, record, due, now)
        if due is not None and due > now:
            raise WaitSuspended(due)
        await _resumed(ctx, node_id, record)
        waited = (now - parse_timestamp(record["since"])).total_seconds()
        return {"waited_s": round(max(waited, 0.0), 3), "resumed_at": iso(now)}

    async def _first(self, ctx: NodeContext, node_id: str, config: Any, now: datetime) -> Any:
        kind = wait_kind(config)
        until_value = None
        if kind == "until":
            until_value = await resolve_value(config.until, ctx.scope, "config.until")
        try:
            due = due_time(config, now, until_value)
        except ValueError as exc:
            raise NodeError(f"config.until: {exc}", retryable=False) from None
        if kind != "approval" and due is not None and due <= now:
            return {"waited_s": 0.0, "resumed_at": iso(now)}  # already past: nothing to wait for
        record: dict[str, Any] = {"node_id": node_id, "kind": kind, "since": iso(now), "until": iso(due)}
        if kind == "approval":
            record["approval"] = {"prompt": config.approval.prompt, "approvers": list(config.approval.approvers)}
        ctx.waits[node_id] = dict(record)
        await ctx.emit("node.waiting", record)
        raise WaitSuspended(due, approval=kind == "approval")

    async def _decided(self, ctx: NodeContext, node_id: str, record: dict[str, Any], due: datetime | None, now: datetime) -> Any:
        from pilot.engine.approvals import decide_timeout, get_decision

        sessions = ctx.services.sessions
        decision = await get_decision(sessions, ctx.execution_id, node_id)
        if decision is None and due is not None and due <= now:
            decision = await decide_timeout(sessions, ctx.workspace_id, ctx.execution_id, node_id)
        if decision is None:
            raise WaitSuspended(due, approval=True)
        await _resumed(ctx, node_id, record)
        if decision.approved:
            return {"approved": True, "comment": decision.comment, "by": decision.decided_by,
                    "decided_at": iso(decision.decided_at)}
        raise NodeError(f"rejected: {decision.comment or 'no comment'}", retryable=False)


async def _resumed(ctx: NodeContext, node_id: str, record: dict[str, Any]) -> None:
    """``node.resumed``, once per wait (a retry or a crash-resumed attempt does not repeat it)."""
    if not record.get("resumed"):
        record["resumed"] = True
        ctx.waits[node_id] = record
        await ctx.emit("node.resumed", {"node_id": node_id})
