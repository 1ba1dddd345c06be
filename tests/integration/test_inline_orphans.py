"""Embedded mode (no Redis, no worker): an inline run left ``running`` by a crashed API process
is ended by the next API process's sweeper, and its stream ends with ``run.finished``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from pilot.app import create_app
from pilot.core.ids import utcnow
from pilot.db.models import ExecutionRow, StreamEventRow, WorkflowRow
from tests.conftest import new_workspace_key
from tests.support.runs import RunClient, node
from tests.support.servers import serve_in_thread


async def test_orphaned_inline_run_is_ended_with_run_finished(make_settings) -> None:
    settings = make_settings(PILOT_STALE_AFTER_S="1", PILOT_SWEEP_INTERVAL_S="0.2")
    app = create_app(settings)
    with serve_in_thread(app) as url:
        rc = RunClient(url, await new_workspace_key(app))
        try:
            workflow_id = await rc.workflow([node("out", "output", outputs={"x": "1"})], [])
            runtime = app.state.runtime
            # What a process killed mid-run leaves behind: running, stale heartbeat, a started stream.
            async with runtime.sessions() as session:
                wf_row = await session.get(WorkflowRow, workflow_id)
                stale = utcnow() - timedelta(minutes=5)
                row = ExecutionRow(
                    workspace_id=wf_row.workspace_id, workflow_id=workflow_id, workflow_version=1, graph=wf_row.graph,
                    status="running", mode="inline", started_at=stale, heartbeat_at=stale, last_seq=1,
                )
                session.add(row)
                await session.flush()
                session.add(StreamEventRow(stream_id=row.id, seq=1, event="run.started", data={"execution_id": row.id}))
                await session.commit()
                execution_id = row.id

            for _ in range(100):
                if (await rc.execution(execution_id))["status"] != "running":
                    break
                await asyncio.sleep(0.1)
            execution = await rc.execution(execution_id)
            assert execution["status"] == "failed"
            assert "API process" in execution["error"]

            events = await asyncio.wait_for(rc.events(execution_id), timeout=10)
            assert [(seq, name) for seq, name, _ in events] == [(1, "run.started"), (2, "run.finished")]
            assert events[-1][2]["status"] == "failed"

            # A live run (fresh heartbeat) is never touched by the sweeper.
            execution_id2 = await rc.start(workflow_id)
            finished = await asyncio.wait_for(rc.events(execution_id2), timeout=10)
            assert finished[-1][2]["status"] == "succeeded"
            async with runtime.sessions() as session:
                statuses = (await session.execute(sa.select(ExecutionRow.status).where(ExecutionRow.id == execution_id2))).scalars().all()
            assert statuses == ["succeeded"]
        finally:
            await rc.aclose()
