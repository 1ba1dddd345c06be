"""Durable waits in embedded mode, over a real socket: the in-process timer, the start-up sweep
after a SIGKILL of the API process (a two-day wait with the injectable clock), approvals over
HTTP, cancel while waiting, and the SSE stream across the pause.

Background mode (arq worker + API processes killed and restarted): test_wait_background.py.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from pilot.auth.service import create_api_key
from tests.conftest import new_workspace_key
from tests.support.background import start_api, stop
from tests.support.echo_server import EchoApp
from tests.support.runs import RunClient, edge, node
from tests.support.scripted import tool
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")

TWO_DAYS = 2 * 86_400


def waiting_graph(wait: dict, after: dict | None = None):
    """start → pause (wait) → after → out (the output of both)."""
    after = after or tool("after")
    nodes = [node("start", "input"), {"id": "pause", "type": "wait", **wait}, after,
             node("out", "output", outputs={"pause": "{{ nodes.pause.output }}", "after": f"{{{{ nodes.{after['id']}.output }}}}"})]
    return nodes, [edge("start", "pause"), edge("pause", after["id"]), edge(after["id"], "out")]


async def wait_status(rc: RunClient, execution_id: str, status: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        execution = await rc.execution(execution_id)
        if execution["status"] == status or time.monotonic() > deadline:
            assert execution["status"] == status, execution
            return execution
        await asyncio.sleep(0.05)


def names(events) -> list[str]:
    return [name for _, name, _ in events]


async def test_a_short_wait_resumes_via_the_in_process_timer_and_the_stream_spans_the_pause(rc: RunClient, probe) -> None:
    workflow_id = await rc.workflow(*waiting_graph({"config": {"duration_s": 1.5}}))
    execution_id = await rc.start(workflow_id)
    waiting = await wait_status(rc, execution_id, "waiting")
    assert probe.of("after") == []  # nothing after the wait ran
    assert [r["node_id"] for r in waiting["node_results"]] == ["start"]  # the wait has no result yet
    assert waiting["resume_at"] is not None
    events = await rc.events(execution_id)  # connected while waiting: node.waiting, then the rest
    order = names(events)
    assert order.index("node.waiting") < order.index("node.resumed") < order.index("run.finished")
    waited = next(d for _, n, d in events if n == "node.waiting")
    assert waited["node_id"] == "pause" and waited["kind"] == "duration" and waited["until"] > waited["since"]
    assert events[-1][2]["status"] == "succeeded" and order.count("run.finished") == 1
    assert [s for s, _, _ in events] == list(range(1, len(events) + 1))
    assert events[-1][2]["outputs"]["pause"]["waited_s"] >= 1.4
    assert len(probe.of("after")) == 1
    assert (await rc.execution(execution_id))["status"] == "succeeded"


async def test_other_branches_run_while_a_wait_is_parked(rc: RunClient, probe) -> None:
    nodes = [node("start", "input"), {"id": "pause", "type": "wait", "config": {"duration_s": 1.0}}, tool("side", sleep=0.4),
             node("out", "output", outputs={"side": "{{ nodes.side.output }}"})]
    edges = [edge("start", "pause"), edge("start", "side"), edge("pause", "out"), edge("side", "out")]
    execution_id, events = await rc.run(nodes, edges)
    order = [(n, d.get("node_id")) for _, n, d in events]
    assert order.index(("node.waiting", "pause")) < order.index(("node.finished", "side")) < order.index(("node.resumed", "pause"))
    assert events[-1][2]["status"] == "succeeded" and events[-1][2]["outputs"] == {"side": "side"}
    assert len(probe.of("side")) == 1  # not re-run by the resume


async def test_cancel_while_waiting_ends_the_run_without_a_worker(rc: RunClient, probe) -> None:
    workflow_id = await rc.workflow(*waiting_graph({"config": {"duration_s": 3600}}))
    execution_id = await rc.start(workflow_id)
    await wait_status(rc, execution_id, "waiting")
    response = await rc.http.post(f"/api/executions/{execution_id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    events = await asyncio.wait_for(rc.events(execution_id), 10)
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "cancelled"
    assert names(events).count("run.finished") == 1 and probe.of("after") == []


# ------------------------------------------------------------------------------------ approvals
async def approval_client(live_server) -> tuple[RunClient, RunClient]:
    """Two keys of one new workspace: ``default`` and ``moderator``."""
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    default = await new_workspace_key(live_server.app, workspace)
    async with live_server.app.state.runtime.sessions() as session:
        moderator = await create_api_key(session, workspace, "moderator")
        await session.commit()
    return RunClient(live_server.url, default), RunClient(live_server.url, moderator)


def approval(on_error: str = "fail", **extra) -> dict:
    return {"config": {"approval": {"prompt": "Publish it?", "approvers": ["moderator"], **extra}}, "on_error": on_error}


async def test_approval_round_trip_over_http(live_server, probe) -> None:
    anyone, moderator = await approval_client(live_server)
    try:
        workflow_id = await anyone.workflow(*waiting_graph(approval()))
        execution_id = await anyone.start(workflow_id)
        execution = await wait_status(anyone, execution_id, "waiting")
        assert execution["status"] == "waiting"
        url = f"/api/executions/{execution_id}/approvals/pause"
        bad = await moderator.http.post(url, json={"approved": "yes"})
        assert bad.status_code == 400 and "approved" in bad.text
        assert (await moderator.http.post(url, json={"comment": "x"})).status_code == 400
        assert (await anyone.http.post(url, json={"approved": True})).status_code == 403  # not an approver
        other = RunClient(live_server.url, await live_server.new_key())
        assert (await other.http.post(url, json={"approved": True})).status_code == 404  # another tenant
        await other.aclose()
        not_wait = await moderator.http.post(f"/api/executions/{execution_id}/approvals/after", json={"approved": True})
        assert not_wait.status_code == 409 and "node_id" in not_wait.text
        decided = await moderator.http.post(url, json={"approved": True, "comment": "ship it"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["decided_by"] == "moderator" and decided.json()["approved"] is True
        again = await moderator.http.post(url, json={"approved": False})
        assert again.status_code == 409
        events = await asyncio.wait_for(anyone.events(execution_id), 15)
        assert events[-1][2]["status"] == "succeeded"
        output = events[-1][2]["outputs"]["pause"]
        assert output["approved"] is True and output["comment"] == "ship it" and output["by"] == "moderator"
        assert names(events).index("node.waiting") < names(events).index("node.resumed")
        assert next(d for _, n, d in events if n == "node.waiting")["approval"]["approvers"] == ["moderator"]
        assert len(probe.of("after")) == 1
    finally:
        await anyone.aclose()
        await moderator.aclose()


@pytest.mark.parametrize(("on_error", "run_status", "after_runs"), [("continue", "succeeded", 1), ("fail", "failed", 0)])
async def test_a_rejection_takes_the_nodes_on_error_path(live_server, probe, on_error, run_status, after_runs) -> None:
    anyone, moderator = await approval_client(live_server)
    try:
        workflow_id = await anyone.workflow(*waiting_graph(approval(on_error)))
        execution_id = await anyone.start(workflow_id)
        await wait_status(anyone, execution_id, "waiting")
        response = await moderator.http.post(f"/api/executions/{execution_id}/approvals/pause",
                                             json={"approved": False, "comment": "too rude"})
        assert response.status_code == 200, response.text
        events = await asyncio.wait_for(anyone.events(execution_id), 15)
        assert events[-1][2]["status"] == run_status
        pause = [d for _, n, d in events if n in ("node.finished", "node.failed") and d["node_id"] == "pause"]
        assert pause[-1]["error"] == "rejected: too rude"
        assert len(probe.of("after")) == after_runs
    finally:
        await anyone.aclose()
        await moderator.aclose()


async def test_a_run_resumed_by_another_process_still_reaches_this_servers_stream(client, live_server, probe) -> None:
    """Every API process can resume a waiting run — the one an approval is decided through, or
    any process's sweep — and this server's SSE clients do not follow that process's in-memory
    bus. Here the decision goes through the session's other app (same database): the stream
    served by the live server must still deliver the rest of the run and end (it used to hang)."""
    anyone, moderator = await approval_client(live_server)
    stream = None
    try:
        workflow_id = await anyone.workflow(*waiting_graph(approval()))
        execution_id = await anyone.start(workflow_id)
        await wait_status(anyone, execution_id, "waiting")
        stream = asyncio.ensure_future(anyone.events(execution_id))
        bus = live_server.app.state.runtime.bus  # in-memory (peeked at from this thread: test only)
        deadline = time.monotonic() + 10
        while not (bus._streams.get(execution_id) and bus._streams[execution_id].subscribers):  # connected
            assert time.monotonic() < deadline and not stream.done()
            await asyncio.sleep(0.02)
        decided = await client.post(f"/api/executions/{execution_id}/approvals/pause", json={"approved": True},
                                    headers=moderator.http.headers)  # decided in the other process
        assert decided.status_code == 200, decided.text
        events = await asyncio.wait_for(stream, 15)
        assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded"
        assert names(events).count("node.resumed") == 1 and names(events).count("run.finished") == 1
        assert [s for s, _, _ in events] == list(range(1, len(events) + 1))
        assert len(probe.of("after")) == 1
    finally:
        if stream is not None and not stream.done():
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
        await anyone.aclose()
        await moderator.aclose()


async def test_an_approval_timeout_counts_as_a_rejection(live_server, probe) -> None:
    anyone, moderator = await approval_client(live_server)
    try:
        workflow_id = await anyone.workflow(*waiting_graph(approval("continue", timeout_s=1)))
        execution_id = await anyone.start(workflow_id)
        events = await asyncio.wait_for(anyone.events(execution_id), 15)
        assert events[-1][2]["status"] == "succeeded"
        pause = next(d for _, n, d in events if n == "node.finished" and d["node_id"] == "pause")
        assert pause["error"] == "rejected: the approval timed out" and len(probe.of("after")) == 1
        late = await moderator.http.post(f"/api/executions/{execution_id}/approvals/pause", json={"approved": True})
        assert late.status_code == 409
    finally:
        await anyone.aclose()
        await moderator.aclose()


# ----------------------------------------------- a two-day wait survives a SIGKILL (embedded)
async def test_a_two_day_wait_left_by_a_killed_server_resumes_once_via_the_startup_sweep(tmp_path: Path) -> None:
    echo = EchoApp()
    with serve_in_thread(echo) as echo_url:
        env = {"PILOT_DATA_DIR": str(tmp_path / ".pilot"), "PILOT_HTTP_ALLOWLIST": echo_url.removeprefix("http://"),
               "PILOT_WAIT_SWEEP_INTERVAL_S": "0.5"}
        after = {"id": "after", "type": "api", "config": {"url": f"{echo_url}/echo", "query": {"node": "after"}}}
        proc, url = start_api(env, tmp_path / "api-1.log")
        try:
            key = (tmp_path / ".pilot" / "dev-key").read_text().strip()
            rc = RunClient(url, key)
            workflow_id = await rc.workflow(*waiting_graph({"config": {"duration_s": TWO_DAYS}}, after))
            execution_id = await rc.start(workflow_id)
            await wait_status(rc, execution_id, "waiting")
            await rc.aclose()
        finally:
            stop(proc, sig=signal.SIGKILL)
        assert proc.returncode == -signal.SIGKILL
        # Restarted two days (and a minute) later: the start-up sweep resumes the run.
        proc, url = start_api({**env, "PILOT_CLOCK_OFFSET_S": str(TWO_DAYS + 60)}, tmp_path / "api-2.log")
        try:
            rc = RunClient(url, key)
            events = await asyncio.wait_for(rc.events(execution_id), 30)
            assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-3:]
            assert names(events).count("run.finished") == 1 and names(events).count("node.resumed") == 1
            assert [s for s, _, _ in events] == list(range(1, len(events) + 1))
            assert events[-1][2]["outputs"]["pause"]["waited_s"] >= TWO_DAYS
            assert sum(1 for r in echo.received if r["query"].get("node") == "after") == 1
            async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
                assert (await client.get(f"/api/executions/{execution_id}")).json()["status"] == "succeeded"
            await rc.aclose()
        finally:
            stop(proc)


async def test_a_signed_in_user_named_as_approver_decides_by_e_mail(live_server, probe) -> None:
    from tests.support.identity import PASSWORD, bearer, make_user

    anyone, _ = await approval_client(live_server)
    try:
        workspace_id = (await anyone.http.get("/api/workspace")).json()["id"]
        _, approver = await make_user(live_server.app, workspace_id, "member")
        _, bystander = await make_user(live_server.app, workspace_id, "member")
        workflow_id = await anyone.workflow(*waiting_graph(approval(approvers=[approver])))
        execution_id = await anyone.start(workflow_id)
        await wait_status(anyone, execution_id, "waiting")
        url = f"{live_server.url}/api/executions/{execution_id}/approvals/pause"
        async with httpx.AsyncClient() as http:
            t_by = (await http.post(f"{live_server.url}/api/auth/login", json={"email": bystander, "password": PASSWORD})).json()
            refused = await http.post(url, json={"approved": True}, headers=bearer(t_by["access_token"], workspace_id))
            assert refused.status_code == 403 and bystander in refused.text
            t_ok = (await http.post(f"{live_server.url}/api/auth/login", json={"email": approver, "password": PASSWORD})).json()
            decided = await http.post(url, json={"approved": True}, headers=bearer(t_ok["access_token"], workspace_id))
            assert decided.status_code == 200, decided.text
            assert decided.json()["decided_by"] == approver
        events = await asyncio.wait_for(anyone.events(execution_id), 15)
        assert events[-1][2]["outputs"]["pause"]["by"] == approver
    finally:
        await anyone.aclose()
