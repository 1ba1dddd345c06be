"""The node limit covers loop bodies over HTTP too: 422 naming the field and the limit (issue 10)."""

from __future__ import annotations

from pilot.workflows.validation import MAX_NODES


def graph_with_body_of(count: int) -> dict:
    body_nodes = [{"id": f"b{i}", "type": "llm", "config": {"prompt": "{{ item }}"}} for i in range(count)]
    body_edges = [{"id": f"be{i}", "source": f"b{i - 1}", "target": f"b{i}"} for i in range(1, count)]
    each = {"id": "each", "type": "loop", "config": {"items": "[1]", "body": {"nodes": body_nodes, "edges": body_edges}}}
    return {
        "nodes": [{"id": "inp", "type": "input"}, each, {"id": "out", "type": "output", "config": {"outputs": {"a": "x"}}}],
        "edges": [{"id": "e1", "source": "inp", "target": "each"}, {"id": "e2", "source": "each", "target": "out"}],
    }


async def test_a_loop_body_over_the_node_limit_is_422(api):
    response = await api.post("/api/workflows", json={"name": "huge body", **graph_with_body_of(MAX_NODES + 10)})
    assert response.status_code == 422, response.text[:300]
    body = response.json()
    assert "field 'nodes'" in body["detail"] and f"at most {MAX_NODES}" in body["detail"]
    assert [p["code"] for p in body["extra"]] == ["too_many_nodes"]
    assert (await api.get("/api/workflows")).json()["total"] == 0

    report = await api.post("/api/workflows/validate", json=graph_with_body_of(MAX_NODES + 10))
    assert report.status_code == 200
    assert report.json()["valid"] is False
    assert [p["code"] for p in report.json()["problems"]] == ["too_many_nodes"]


async def test_a_loop_body_within_the_limit_is_accepted(api):
    response = await api.post("/api/workflows", json={"name": "big body", **graph_with_body_of(MAX_NODES - 3)})
    assert response.status_code == 201, response.text[:300]
