"""Seeding stored runs straight into ``executions`` / ``node_results`` for analytics tests, so
every figure the API reports can be checked against values computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pilot.core.ids import new_id, utcnow
from pilot.db.models import ExecutionRow, NodeResultRow


def node(node_id: str, node_type: str, elapsed_ms: float | None, *, status: str = "succeeded", attempts: int = 1,
         error: str | None = None, cost: float = 0.0, prompt: int = 0, completion: int = 0,
         finished_at: datetime | None = None) -> dict[str, Any]:
    """One node result to seed (``cost``/tokens: one LLM call's usage when any is set)."""
    usage: dict[str, Any] = {}
    if cost or prompt or completion:
        usage = {"llm_calls": 1, "prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion, "cost_usd": cost}
    return {"node_id": node_id, "node_type": node_type, "status": status, "attempts": attempts, "error": error, "output": "ok",
            "usage": usage, "elapsed_ms": elapsed_ms, "finished_at": finished_at}


async def workspace_of(app, key: str) -> str:
    runtime = app.state.runtime
    return (await runtime.principals.authenticate(runtime.sessions, key)).id


async def seed_run(app, workspace_id: str, workflow: dict[str, Any], nodes: list[dict[str, Any]], *, status: str = "succeeded",
                   duration_ms: float | None = 1000.0, created: datetime | None = None, trigger: str = "manual",
                   rerun_of: str | None = None) -> str:
    """Store one run of ``workflow`` (the API's JSON) with its node results; returns its id."""
    created = created or utcnow() - timedelta(hours=1)
    started = created + timedelta(seconds=1) if duration_ms is not None else None
    finished = started + timedelta(milliseconds=duration_ms) if started is not None and duration_ms is not None else None
    exe_id = new_id("exe")
    graph = {k: workflow[k] for k in ("nodes", "edges", "settings")}
    async with app.state.runtime.sessions() as session:
        session.add(ExecutionRow(id=exe_id, workspace_id=workspace_id, workflow_id=workflow["id"],
                                 workflow_version=workflow["version"], graph=graph, status=status, trigger=trigger,
                                 rerun_of=rerun_of, created_at=created, started_at=started, finished_at=finished))
        await session.flush()
        for item in nodes:
            session.add(NodeResultRow(execution_id=exe_id, started_at=started, **{**item, "finished_at": item["finished_at"] or finished}))
        await session.commit()
    return exe_id
