"""Knowledge-base API: create/list/get/delete, document upload with chunking, search ranking in
English and Chinese, validation errors naming the field, and workspace isolation."""

from __future__ import annotations

REFUND_EN = (
    "Refund policy. Customers can request a refund within 30 days of delivery. "
    "Refunds are issued to the original payment method.\n\n"
    "Shipping. Orders ship within two business days. Express shipping costs extra."
)
REFUND_ZH = "退款政策：收到商品后三十天内可以申请退款。退款将原路返回。\n\n配送说明：订单在两个工作日内发货！加急配送需要额外付费。"
WARRANTY = "Warranty. Every device has a two-year warranty covering manufacturing defects."


async def _kb(api, name: str = "support-docs") -> dict:
    r = await api.post("/api/knowledge-bases", json={"name": name, "description": "help centre"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_list_get_delete(api) -> None:
    kb = await _kb(api)
    assert kb["name"] == "support-docs" and kb["document_count"] == 0 and kb["id"].startswith("kb_")
    listed = (await api.get("/api/knowledge-bases")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == kb["id"]
    assert (await api.get(f"/api/knowledge-bases/{kb['id']}")).json()["name"] == "support-docs"
    assert (await api.get("/api/knowledge-bases/support-docs")).json()["id"] == kb["id"]  # by name too
    assert (await api.delete(f"/api/knowledge-bases/{kb['id']}")).status_code == 204
    assert (await api.get(f"/api/knowledge-bases/{kb['id']}")).status_code == 404
    assert (await api.get("/api/knowledge-bases")).json()["total"] == 0


async def test_duplicate_name_is_409(api) -> None:
    await _kb(api)
    r = await api.post("/api/knowledge-bases", json={"name": "support-docs"})
    assert r.status_code == 409 and "support-docs" in r.json()["detail"]


async def test_bad_input_names_the_field(api) -> None:
    r = await api.post("/api/knowledge-bases", json={"name": ""})
    assert r.status_code == 400 and "name" in r.text
    kb = await _kb(api)
    r = await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "x"})
    assert r.status_code == 400 and "content" in r.text
    r = await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "x", "content": "   "})
    assert r.status_code == 400 and "content" in r.text
    assert (await api.get(f"/api/knowledge-bases/{kb['id']}/documents")).json()["total"] == 0


async def test_upload_chunks_and_lists_documents(api) -> None:
    kb = await _kb(api)
    r = await api.post(
        f"/api/knowledge-bases/{kb['id']}/documents",
        json={"title": "Refunds", "content": REFUND_EN, "metadata": {"lang": "en"}},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["chunk_count"] >= 1 and doc["metadata"] == {"lang": "en"} and doc["characters"] == len(REFUND_EN)
    long_text = "\n\n".join(f"Paragraph {i}. " + f"Sentence about topic number {i}. " * 30 for i in range(5))
    r = await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "Long", "content": long_text})
    assert r.json()["chunk_count"] > 3
    docs = (await api.get(f"/api/knowledge-bases/{kb['id']}/documents")).json()
    assert [d["title"] for d in docs["items"]] == ["Refunds", "Long"] and docs["total"] == 2
    got = (await api.get(f"/api/knowledge-bases/{kb['id']}")).json()
    assert got["document_count"] == 2 and got["chunk_count"] == doc["chunk_count"] + r.json()["chunk_count"]


async def test_search_ranks_english_and_chinese(api) -> None:
    kb = await _kb(api)
    for title, content in (("Refunds", REFUND_EN), ("退款", REFUND_ZH), ("Warranty", WARRANTY)):
        r = await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": title, "content": content})
        assert r.status_code == 201
    en = (await api.post(f"/api/knowledge-bases/{kb['id']}/search", json={"query": "how do I get refunded?", "top_k": 2})).json()
    assert en["passages"][0]["title"] == "Refunds" and "refund" in en["passages"][0]["text"].lower()
    zh = (await api.post(f"/api/knowledge-bases/{kb['id']}/search", json={"query": "怎么申请退款", "top_k": 1})).json()
    assert zh["passages"][0]["title"] == "退款" and "退款" in zh["passages"][0]["text"]
    warranty = (await api.post(f"/api/knowledge-bases/{kb['id']}/search", json={"query": "device warranty"})).json()
    assert warranty["passages"][0]["title"] == "Warranty"
    assert all(p["score"] > 0 for p in warranty["passages"])
    none = (await api.post(f"/api/knowledge-bases/{kb['id']}/search", json={"query": "zebra"})).json()
    assert none["passages"] == []


async def test_other_workspace_gets_404(api, other_api) -> None:
    kb = await _kb(api)
    assert (await other_api.get(f"/api/knowledge-bases/{kb['id']}")).status_code == 404
    assert (await other_api.get("/api/knowledge-bases/support-docs")).status_code == 404
    r = await other_api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "t", "content": "c"})
    assert r.status_code == 404
    assert (await other_api.delete(f"/api/knowledge-bases/{kb['id']}")).status_code == 404
    assert (await other_api.get("/api/knowledge-bases")).json()["total"] == 0
    # the same name is free in another workspace
    assert (await other_api.post("/api/knowledge-bases", json={"name": "support-docs"})).status_code == 201


async def test_requires_auth(client) -> None:
    assert (await client.get("/api/knowledge-bases")).status_code == 401


async def test_pagination_and_bad_limit(api) -> None:
    for i in range(3):
        await _kb(api, f"kb-{i}")
    page = (await api.get("/api/knowledge-bases", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 3 and [k["name"] for k in page["items"]] == ["kb-1", "kb-2"]
    r = await api.get("/api/knowledge-bases", params={"limit": 0})
    assert r.status_code == 400 and "limit" in r.text
