"""Template library over HTTP (runs on SQLite and PostgreSQL via the ``api`` fixture)."""

from __future__ import annotations

from pilot.templates.catalog import default_catalog

EXPECTED = {
    "customer_support", "rag_qa", "content_generation", "summarization", "translation",
    "classification_routing", "data_extraction", "data_analysis", "web_research",
    "scheduled_digest", "code_review", "sentiment_analysis", "lead_qualification", "tool_agent",
}  # fmt: skip


async def test_list_templates(api) -> None:
    resp = await api.get("/api/templates")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    ids = {item["id"] for item in body["items"]}
    assert EXPECTED <= ids
    assert body["total"] == len(body["items"])
    support = next(item for item in body["items"] if item["id"] == "customer_support")
    assert support["name"]["zh"] and support["name"]["en"]
    assert {"knowledge", "condition", "llm"} <= set(support["node_types"])
    assert "graph" not in support


async def test_list_filters_by_tag_and_text(api) -> None:
    resp = await api.get("/api/templates", params={"tag": "rag"})
    assert [item["id"] for item in resp.json()["items"]] == ["rag_qa"]
    resp = await api.get("/api/templates", params={"q": "翻译"})
    assert [item["id"] for item in resp.json()["items"]] == ["translation"]
    resp = await api.get("/api/templates", params={"q": "HACKER news"})
    assert "scheduled_digest" in {item["id"] for item in resp.json()["items"]}
    resp = await api.get("/api/templates", params={"tag": "no-such-tag"})
    assert resp.json() == {"items": [], "total": 0}


async def test_get_template_has_graph_examples_and_parameters(api) -> None:
    resp = await api.get("/api/templates/scheduled_digest")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"] == "scheduled_digest"
    assert len(body["examples"]["en"]) >= 5 and len(body["examples"]["zh"]) >= 5
    assert {p["name"] for p in body["parameters"]} >= {"schedule", "channel", "story_count"}
    graph = body["graph"]
    assert graph["settings"]["schedule"] == "0 8 * * *"
    types = {n["id"]: n["type"] for n in graph["nodes"]}
    assert types["fetch_top"] == "api" and types["stories"] == "loop"
    # Same graph as the catalogue's default instantiation, positions included.
    expected = default_catalog().get("scheduled_digest").graph
    assert [n["id"] for n in graph["nodes"]] == [n.id for n in expected.nodes]
    assert len({(n["position"]["x"], n["position"]["y"]) for n in graph["nodes"]}) == len(graph["nodes"])


async def test_unknown_template_is_404(api) -> None:
    resp = await api.get("/api/templates/does_not_exist")
    assert resp.status_code == 404
    body = resp.json()
    assert body["status_code"] == 404 and "does_not_exist" in body["detail"]


async def test_templates_require_auth(client) -> None:
    assert (await client.get("/api/templates")).status_code == 401
    assert (await client.get("/api/templates/rag_qa")).status_code == 401


async def test_openapi_documents_the_template_routes(client) -> None:
    resp = await client.get("/schema/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert "/api/templates" in paths and "/api/templates/{template_id}" in paths
