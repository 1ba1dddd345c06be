"""The ``knowledge`` node against the database (SQLite and PostgreSQL): lookup by name or id within
the run's workspace, rendered query, ranked passages, unknown base, cache refresh on upload."""

from __future__ import annotations

import pytest

from pilot.auth.service import authenticate
from pilot.engine.errors import NodeError
from pilot.engine.nodes.knowledge import KnowledgeRunner
from tests.support.node_ctx import make_ctx, services

RUN = KnowledgeRunner()
DOCS = [
    ("Refund policy", "Customers can request a refund within 30 days of delivery. Refunds go to the original card."),
    ("退款政策", "收到商品后三十天内可以申请退款。退款将原路返回。"),
    ("Shipping", "Orders ship within two business days. Express shipping costs extra."),
]


@pytest.fixture
async def kb(api, client):
    r = await api.post("/api/knowledge-bases", json={"name": "help-centre"})
    kb = r.json()
    for title, content in DOCS:
        assert (await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": title, "content": content})).status_code == 201
    runtime = client.app.state.runtime
    async with runtime.sessions() as session:
        workspace = await authenticate(session, api.key)
    svc = services(runtime.settings, sessions=runtime.sessions)
    return kb, workspace.id, svc


def _ctx(svc, workspace_id: str, config: dict, inputs: dict | None = None):
    return make_ctx({"type": "knowledge", "config": config}, svc, scope={"inputs": inputs or {}, "nodes": {}},
                    workspace_id=workspace_id)


async def test_lookup_by_name_with_rendered_query(kb) -> None:
    _, ws, svc = kb
    out = await RUN.run(_ctx(svc, ws, {"knowledge_base": "help-centre", "query": "{{ inputs.q }}", "top_k": 2},
                             {"q": "how do I get a refund?"}))
    assert 1 <= len(out) <= 2
    assert out[0]["title"] == "Refund policy" and out[0]["score"] > 0
    assert set(out[0]) == {"text", "score", "document_id", "title"} and out[0]["document_id"].startswith("doc_")


async def test_lookup_by_id_in_chinese(kb) -> None:
    info, ws, svc = kb
    out = await RUN.run(_ctx(svc, ws, {"knowledge_base": info["id"], "query": "怎么申请退款", "top_k": 1}))
    assert out[0]["title"] == "退款政策" and "退款" in out[0]["text"]


async def test_unknown_knowledge_base_is_named(kb) -> None:
    _, ws, svc = kb
    with pytest.raises(NodeError, match="knowledge base 'nope' not found") as info:
        await RUN.run(_ctx(svc, ws, {"knowledge_base": "nope", "query": "refund"}))
    assert not info.value.retryable


async def test_other_workspace_cannot_read_it(kb) -> None:
    _, _, svc = kb
    with pytest.raises(NodeError, match="'help-centre' not found"):
        await RUN.run(_ctx(svc, "ws_someone_else", {"knowledge_base": "help-centre", "query": "refund"}))


async def test_cache_sees_new_documents(kb, api) -> None:
    info, ws, svc = kb
    config = {"knowledge_base": "help-centre", "query": "warranty period"}
    assert await RUN.run(_ctx(svc, ws, config)) == []
    r = await api.post(f"/api/knowledge-bases/{info['id']}/documents",
                       json={"title": "Warranty", "content": "The warranty period is two years."})
    assert r.status_code == 201
    out = await RUN.run(_ctx(svc, ws, config))
    assert out[0]["title"] == "Warranty"


async def test_sandbox_escape_in_query(kb) -> None:
    _, ws, svc = kb
    with pytest.raises(NodeError, match="query: .*sandbox"):
        await RUN.run(_ctx(svc, ws, {"knowledge_base": "help-centre", "query": "{{ ().__class__.__mro__ }}"}))
