"""Readiness of the v2 steps, on SQLite and PostgreSQL via the ``api`` fixture (the style of
``test_readiness.py``): a ``workflow`` step whose workflow is not the workspace's (or not
runnable), a ``code`` step in JavaScript, and the note for an ``agent`` without tools."""

from __future__ import annotations

from pilot.readiness import KINDS, NOTE_KINDS, check_graph
from pilot.workflows.model import graph_from_builtins
from tests.api.test_readiness import chain, create, found, llm, readiness, replace, start
from tests.conftest import Api


def call(node_id: str, workflow_id: str, version: int | None = None) -> dict:
    config: dict = {"workflow_id": workflow_id}
    if version is not None:
        config["version"] = version
    return {"id": node_id, "type": "workflow", "config": config}


async def test_a_workflow_step_names_a_workflow_of_the_workspace(api: Api, other_api: Api) -> None:
    wid = await create(api, start(), call("cleanup", "cleanup"))
    body = await readiness(api, wid)
    assert found(body) == [("workflow", "cleanup", "cleanup")]
    assert "pick the workflow to run" in body["items"][0]["message"] and not body["publishable"]
    zh = await readiness(api, wid, params={"lang": "zh"})
    assert "请选择要运行的工作流" in zh["items"][0]["message"]

    foreign = await create(other_api, start(), llm("tidy", "tidy {{ inputs }}"), name="Cleanup")  # another workspace's
    await replace(api, wid, start(), call("cleanup", foreign))
    assert found(await readiness(api, wid)) == [("workflow", "cleanup", foreign)]

    child = await create(api, start(), llm("tidy", "tidy {{ inputs }}"), name="Cleanup")
    await replace(api, wid, start(), call("cleanup", child))
    body = await readiness(api, wid)
    assert found(body) == [("workflow", "cleanup", child)] and "no published version" in body["items"][0]["message"]

    await replace(api, wid, start(), call("cleanup", child, version=7))
    body = await readiness(api, wid)
    assert found(body) == [("workflow", "cleanup", child)] and "version 7" in body["items"][0]["message"]

    await replace(api, wid, start(), call("cleanup", child, version=1))  # a pinned, existing version runs
    assert await readiness(api, wid) == {"ready": True, "items": [], "publishable": True}
    await replace(api, wid, start(), call("cleanup", child))
    response = await api.post(f"/api/workflows/{child}/publish")
    assert response.status_code == 200, response.text
    assert await readiness(api, wid) == {"ready": True, "items": [], "publishable": True}


async def test_an_agent_without_tools_is_a_note_that_blocks_nothing(api: Api) -> None:
    wid = await create(api, start(), {"id": "helper", "type": "agent", "config": {"prompt": "Answer {{ inputs }}"}})
    body = await readiness(api, wid)
    assert body["ready"] and body["publishable"] and body["items"] == []
    assert [(n["kind"], n["node_id"]) for n in body["notes"]] == [("agent", "helper")]
    assert all(n["kind"] in NOTE_KINDS for n in body["notes"])
    assert "without tools" in body["notes"][0]["message"]
    zh = await readiness(api, wid, params={"lang": "zh"})
    assert "没有工具" in zh["notes"][0]["message"]


async def test_javascript_code_is_not_supported(api: Api) -> None:
    nodes, edges = chain(start(), {"id": "js", "type": "code", "config": {"language": "javascript", "code": "return inputs"}})
    response = await api.post("/api/workflows", json={"name": "js", "nodes": nodes, "edges": edges})
    assert response.status_code == 422  # validation refuses it when saved…
    graph = graph_from_builtins({"nodes": nodes, "edges": edges})
    runtime = api.client.app.state.runtime
    async with runtime.sessions() as session:  # …and readiness says so for a graph it is handed
        report = await check_graph(session, "ws-any", graph, runtime.settings)
    assert [(i.kind, i.node_id, i.name) for i in report.items] == [("code", "js", "javascript")]
    assert "code" in KINDS and not report.publishable and "Python" in report.items[0].message
