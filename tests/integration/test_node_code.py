"""``code`` nodes in real runs: the runs API, the engine, a sandbox process per execution and the
SSE stream over a real socket. A failing or hostile code node ends the run ``failed`` with a
clear node error while the server stays healthy; a syntax error is refused at save time."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient, edge, finished, node

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOUBLE = """
import statistics

def main(inputs):
    values = [row["v"] for row in inputs["rows"]]
    print("rows:", len(values))
    return {"doubled": [v * 2 for v in values], "mean": statistics.mean(values), "label": inputs["label"]}
"""


def _graph(code: str, **config) -> tuple[list[dict], list[dict]]:
    nodes = [
        node("start", "input", fields=[{"name": "rows", "type": "array"}, {"name": "label", "type": "string"}]),
        node("calc", "code", code=code, inputs={"rows": "{{ inputs.rows }}", "label": "run {{ inputs.label }}"}, **config),
        node("end", "output", outputs={"summary": "{{ nodes.calc.output.result }}", "log": "{{ nodes.calc.output.stdout }}"}),
    ]
    return nodes, [edge("start", "calc"), edge("calc", "end")]


async def test_code_node_runs_and_streams_its_output(rc: RunClient) -> None:
    execution_id, events = await rc.run(*_graph(DOUBLE), input_data={"rows": [{"v": 1}, {"v": 2}, {"v": 6}], "label": "α"})
    names = [e for _, e, _ in events]
    assert names[0] == "run.started" and names[-1] == "run.finished"
    calc = finished(events)["calc"]
    assert calc["status"] == "succeeded"
    assert calc["output"] == {"result": {"doubled": [2, 4, 12], "mean": 3, "label": "run α"}, "stdout": "rows: 3\n"}
    run = events[-1][2]
    assert run["status"] == "succeeded"
    assert run["outputs"] == {"summary": {"doubled": [2, 4, 12], "mean": 3, "label": "run α"}, "log": "rows: 3\n"}
    assert (await rc.execution(execution_id))["status"] == "succeeded"


async def test_failing_code_node_fails_the_run_with_the_line(rc: RunClient) -> None:
    code = "def main(inputs):\n    rows = inputs['rows']\n    return rows[0]['v'] / 0\n"
    _, events = await rc.run(*_graph(code), input_data={"rows": [{"v": 1}], "label": "x"})
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and failed[0]["node_id"] == "calc"
    assert "ZeroDivisionError: division by zero (line 3)" in failed[0]["error"]
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "failed"


@pytest.mark.parametrize("code, error", [
    ("def main(inputs):\n    return open('/etc/passwd').read()\n", "Permission denied"),
    ("def main(inputs):\n    while True:\n        pass\n", "CPU time limit exceeded"),
    ("import subprocess\nresult = subprocess.run(['id'])\n", "not available in the code sandbox"),
])
async def test_hostile_code_fails_the_run_and_the_server_stays_healthy(rc: RunClient, code: str, error: str) -> None:
    _, events = await rc.run(*_graph(code, cpu_time_s=1, wall_time_s=20), input_data={"rows": [], "label": "x"})
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and error in failed[0]["error"]
    assert events[-1][2]["status"] == "failed"
    health = await rc.http.get("/health")
    assert health.status_code == 200


async def test_syntax_error_is_refused_when_saving(rc: RunClient) -> None:
    nodes, edges = _graph("def main(inputs):\n    return [1,\n")
    response = await rc.http.post("/api/workflows", json={"name": "bad code", "nodes": nodes, "edges": edges})
    assert response.status_code == 422, response.text
    assert "node 'calc' config.code: Python syntax error at line 2" in response.text
