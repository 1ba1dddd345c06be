"""Generated knowledge steps use a knowledge base the workspace has when one fits; otherwise
readiness asks for the one the step names."""

from __future__ import annotations

from types import SimpleNamespace

from pilot.generation.knowledge_fit import best_base


def _kb(name: str, description: str = "", documents: int = 1):
    return SimpleNamespace(id=f"kb_{name}", name=name, description=description, document_count=documents)


def test_best_base_prefers_shared_terms_then_the_only_base() -> None:
    bases = [_kb("hr-policies", "leave and benefits"), _kb("product-manual", "how the product works")]
    assert best_base("answer customer questions from the product manual", "", bases) == "product-manual"
    assert best_base("回答员工关于休假的问题", "", [_kb("员工手册", "休假和福利制度")]) == "员工手册"
    assert best_base("answer questions from our docs", "", [_kb("only-one")]) == "only-one"
    assert best_base("answer questions", "", bases) is None  # two bases, nothing fits: ask
    assert best_base("product manual", "", [_kb("product-manual", documents=0)]) is None  # empty bases never fit


def _knowledge_nodes(body: dict) -> list[dict]:
    return [n for n in body["workflow"]["nodes"] if n["type"] == "knowledge"]


async def test_generate_points_the_knowledge_step_at_an_existing_base(api) -> None:
    prompt = "Answer customer questions using our product manual and reply by email"
    before = (await api.post("/api/workflows/generate", json={"prompt": prompt})).json()
    assert _knowledge_nodes(before), before["workflow"]["nodes"]
    missing = {i["name"] for i in before["readiness"]["items"] if i["kind"] == "knowledge_base"}
    assert missing == {_knowledge_nodes(before)[0]["config"]["knowledge_base"]}

    kb = (await api.post("/api/knowledge-bases", json={"name": "acme-product-manual", "description": "the product manual"})).json()
    await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "Setup", "content": "Plug it in and press start."})
    after = (await api.post("/api/workflows/generate", json={"prompt": prompt})).json()
    assert _knowledge_nodes(after)[0]["config"]["knowledge_base"] == "acme-product-manual"
    assert not [i for i in after["readiness"]["items"] if i["kind"] == "knowledge_base"]
