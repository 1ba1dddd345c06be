"""Data tables API (SQLite and PostgreSQL): create/list/get/delete tables, insert and upsert rows,
filters (``where=col:op:value``) with cursor paging, type errors naming the row and column, size
limits, and tenancy (another workspace's table answers 404)."""

from __future__ import annotations

URL = "/api/tables"

CUSTOMERS = {
    "name": "customers",
    "description": "who we contacted",
    "columns": [
        {"name": "email", "type": "string"},
        {"name": "name", "type": "string", "required": True},
        {"name": "age", "type": "integer"},
        {"name": "score", "type": "number"},
        {"name": "vip", "type": "boolean"},
        {"name": "contacted_at", "type": "datetime"},
        {"name": "meta", "type": "json"},
    ],
    "key_columns": ["email"],
}

ROWS = [
    {"email": "ada@example.com", "name": "Ada", "age": 36, "score": 9.5, "vip": True, "contacted_at": "2024-05-01T09:00:00+02:00",
     "meta": {"tags": ["math"]}},
    {"email": "bob@example.com", "name": "Bob", "age": 17, "score": 3, "vip": False, "contacted_at": "2024-04-01T00:00:00Z"},
    {"email": "cy@example.com", "name": "Cyrus O'Neil", "age": 52, "score": 7.25, "vip": False},
]


async def _table(api, body: dict | None = None) -> dict:
    r = await api.post(URL, json=body or CUSTOMERS)
    assert r.status_code == 201, r.text
    return r.json()


async def _rows(api, table_id: str, *where: str, **params) -> dict:
    r = await api.get(f"{URL}/{table_id}/rows", params={"where": list(where), **params} if where else params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_create_list_get_delete(api) -> None:
    table = await _table(api)
    assert table["id"].startswith("tbl_") and table["row_count"] == 0 and table["key_columns"] == ["email"]
    email = next(c for c in table["columns"] if c["name"] == "email")
    assert email["required"] is True  # key columns are required
    listed = (await api.get(URL)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == table["id"]
    assert (await api.get(f"{URL}/customers")).json()["id"] == table["id"]  # by name too
    again = await api.post(URL, json=CUSTOMERS)
    assert again.status_code == 409 and "customers" in again.json()["detail"]
    assert (await api.delete(f"{URL}/{table['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{table['id']}")).status_code == 404
    assert (await api.get(URL)).json()["total"] == 0


async def test_bad_table_definitions_name_the_problem(api) -> None:
    r = await api.post(URL, json={"name": "t", "columns": [{"name": "a", "type": "money"}]})
    assert r.status_code == 400 and "type" in r.json()["detail"]
    r = await api.post(URL, json={"name": "t", "columns": [{"name": "a"}], "key_columns": ["b"]})
    assert r.status_code == 422 and "key_columns: 'b'" in r.json()["detail"]
    r = await api.post(URL, json={"name": "t", "columns": [{"name": "a"}, {"name": "a"}]})
    assert r.status_code == 422 and "'a' is declared twice" in r.json()["detail"]
    r = await api.post(URL, json={"name": "t", "columns": [{"name": "_id"}]})
    assert r.status_code == 400 and "name" in r.json()["detail"]


async def test_insert_find_filters_and_paging(api) -> None:
    table = await _table(api)
    r = await api.post(f"{URL}/{table['id']}/rows", json={"rows": ROWS})
    assert r.status_code == 201, r.text
    written = r.json()
    assert (written["inserted"], written["updated"]) == (3, 0)
    ada = written["rows"][0]
    assert ada["_id"] > 0 and ada["contacted_at"] == "2024-05-01T07:00:00.000Z"  # stored as UTC
    assert (await api.get(f"{URL}/{table['id']}")).json()["row_count"] == 3

    def names(page: dict) -> list[str]:
        return [row["name"] for row in page["items"]]

    assert names(await _rows(api, table["id"])) == ["Ada", "Bob", "Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "age:gte:18")) == ["Ada", "Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "age:gte:18", "vip:eq:false")) == ["Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "score:lt:7.5")) == ["Bob", "Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "name:contains:o'n")) == ["Cyrus O'Neil"]  # case-insensitive
    assert names(await _rows(api, table["id"], "email:in:bob@example.com,cy@example.com")) == ["Bob", "Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "contacted_at:is_null")) == ["Cyrus O'Neil"]
    assert names(await _rows(api, table["id"], "contacted_at:gt:2024-04-15T00:00:00Z")) == ["Ada"]
    assert names(await _rows(api, table["id"], "meta:not_null")) == ["Ada"]
    assert names(await _rows(api, table["id"], "name:ne:Bob")) == ["Ada", "Cyrus O'Neil"]

    first = await _rows(api, table["id"], limit=2)
    assert names(first) == ["Ada", "Bob"] and first["next_cursor"]
    rest = await _rows(api, table["id"], limit=2, cursor=first["next_cursor"])
    assert names(rest) == ["Cyrus O'Neil"] and rest["next_cursor"] is None

    for where, needle in (("age:gte:old", "'old' is not an integer"), ("nope:eq:1", "unknown column 'nope'"),
                          ("age:near:3", "op one of"), ("meta:eq:1", "is_null / not_null"), ("vip:gt:true", "ordered column")):
        r = await api.get(f"{URL}/{table['id']}/rows", params={"where": where})
        assert r.status_code == 422 and needle in r.json()["detail"], (where, r.text)


async def test_type_errors_name_the_row_and_column_and_store_nothing(api) -> None:
    table = await _table(api)
    cases = [
        ({"email": "x@y.z", "name": "X", "age": "forty"}, "rows[1].age", "column 'age' expects integer, got string"),
        ({"email": "x@y.z", "name": "X", "age": 1.5}, "rows[1].age", "whole numbers"),
        ({"email": "x@y.z", "name": "X", "vip": "yes"}, "rows[1].vip", "expects boolean"),
        ({"email": "x@y.z", "name": "X", "contacted_at": "tuesday"}, "rows[1].contacted_at", "ISO 8601"),
        ({"email": "x@y.z", "name": "X", "colour": "red"}, "rows[1].colour", "unknown column 'colour'"),
        ({"email": "x@y.z", "age": 3}, "rows[1].name", "column 'name' is required"),
        ({"name": "No Key"}, "rows[1].email", "column 'email' is required"),
    ]
    for bad, where, message in cases:
        r = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [ROWS[0], bad]})
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(where) and message in r.json()["detail"], r.text
    assert (await _rows(api, table["id"]))["items"] == []  # all or nothing
    assert (await api.get(f"{URL}/{table['id']}")).json()["row_count"] == 0


async def test_insert_conflict_and_upsert_by_key(api) -> None:
    table = await _table(api)
    await api.post(f"{URL}/{table['id']}/rows", json={"rows": ROWS[:2]})
    dup = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"email": "ada@example.com", "name": "Ada 2"}]})
    assert dup.status_code == 409 and "ada@example.com" in dup.json()["detail"] and "upsert" in dup.json()["detail"]
    r = await api.post(f"{URL}/{table['id']}/rows", json={"mode": "upsert", "rows": [
        {"email": "ada@example.com", "name": "Ada Lovelace", "score": 10}, {"email": "dan@example.com", "name": "Dan"}]})
    assert r.status_code == 201, r.text
    assert (r.json()["inserted"], r.json()["updated"]) == (1, 1)
    page = await _rows(api, table["id"], "email:eq:ada@example.com")
    assert len(page["items"]) == 1
    ada = page["items"][0]
    assert (ada["name"], ada["score"], ada["age"], ada["vip"]) == ("Ada Lovelace", 10, 36, True)  # merged, not replaced
    assert (await api.get(f"{URL}/{table['id']}")).json()["row_count"] == 3
    nokey = await _table(api, {"name": "log", "columns": [{"name": "line"}]})
    r = await api.post(f"{URL}/{nokey['id']}/rows", json={"mode": "upsert", "rows": [{"line": "x"}]})
    assert r.status_code == 422 and "no key columns" in r.json()["detail"]


async def test_size_limits(make_settings) -> None:
    from litestar.testing import AsyncTestClient

    from pilot.app import create_app
    from tests.conftest import Api, new_workspace_key

    settings = make_settings(PILOT_TABLE_MAX_ROWS="2", PILOT_TABLE_MAX_ROW_BYTES="200", PILOT_TABLES_PER_WORKSPACE="2")
    async with AsyncTestClient(app=create_app(settings)) as client:
        api = Api(client, await new_workspace_key(client.app))
        table = await _table(api, {"name": "small", "columns": [{"name": "text"}]})
        await _table(api, {"name": "second", "columns": [{"name": "text"}]})
        third = await api.post(URL, json={"name": "third", "columns": [{"name": "text"}]})
        assert third.status_code == 409 and "PILOT_TABLES_PER_WORKSPACE" in third.json()["detail"]
        big = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"text": "x" * 300}]})
        assert big.status_code == 413 and "PILOT_TABLE_MAX_ROW_BYTES" in big.json()["detail"]
        assert (await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"text": "a"}, {"text": "b"}]})).status_code == 201
        full = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"text": "c"}]})
        assert full.status_code == 409 and "PILOT_TABLE_MAX_ROWS" in full.json()["detail"]


async def test_another_workspaces_table_is_404(api, other_api) -> None:
    table = await _table(api)
    await api.post(f"{URL}/{table['id']}/rows", json={"rows": ROWS[:1]})
    for method, path, kwargs in (
        ("get", f"{URL}/{table['id']}", {}), ("get", f"{URL}/customers", {}), ("delete", f"{URL}/{table['id']}", {}),
        ("get", f"{URL}/{table['id']}/rows", {}), ("post", f"{URL}/{table['id']}/rows", {"json": {"rows": ROWS[1:2]}}),
    ):
        r = await getattr(other_api, method)(path, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
    assert (await other_api.get(URL)).json()["items"] == []
    assert (await api.get(f"{URL}/{table['id']}")).json()["row_count"] == 1  # untouched


async def test_large_integers_and_hostile_values(api) -> None:
    table = await _table(api, {"name": "big", "columns": [{"name": "n", "type": "integer"}, {"name": "doc", "type": "json"}]})
    rows = [{"n": 2**40, "doc": {"deep": [1, {"x": None}]}}, {"n": -(2**53)}, {"n": 5}]
    assert (await api.post(f"{URL}/{table['id']}/rows", json={"rows": rows})).status_code == 201
    page = await _rows(api, table["id"], f"n:gt:{2**31}")
    assert [r["n"] for r in page["items"]] == [2**40]
    assert [r["n"] for r in (await _rows(api, table["id"], "n:lt:0"))["items"]] == [-(2**53)]
    too_big = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"n": 2**60}]})
    assert too_big.status_code == 422 and "rows[0].n" in too_big.json()["detail"]
    nul = await api.post(f"{URL}/{table['id']}/rows", json={"rows": [{"doc": {"k": "a\u0000b"}}]})
    assert nul.status_code == 422
    r = await api.get(f"{URL}/{table['id']}/rows", params={"cursor": "abc"})
    assert r.status_code == 400 and "cursor" in r.json()["detail"]
