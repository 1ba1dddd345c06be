"""Hostile input is a 4xx naming the field or parameter, never a 500, on SQLite and PostgreSQL
alike (issue 10, defect 5): invalid UTF-8 inside JSON strings, JSON nested hundreds of levels
deep, NUL characters (PostgreSQL's TEXT and JSONB refuse them, so they are refused everywhere),
integers beyond the database's INTEGER in query and path parameters, datetimes that do not exist
in UTC, and an out-of-range ``Last-Event-ID`` on the streams. A rejected request changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_bad_input import assert_error
from tests.support.workflows import workflow_body

pytestmark = pytest.mark.security

JSON = {"content-type": "application/json"}
HUGE = "9999999999999999999999999"
SLOT = "__HOSTILE__"


@pytest.fixture
async def world(api) -> dict[str, str]:
    """One of each resource the endpoints below address."""
    wf = (await api.post("/api/workflows", json=workflow_body())).json()
    kb = (await api.post("/api/knowledge-bases", json={"name": "kb"})).json()
    chat = (await api.post("/api/chat/sessions", json={"title": "chat"})).json()
    return {"wf": wf["id"], "kb": kb["id"], "chat": chat["id"]}


# Every endpoint that takes a JSON body, with a valid body whose SLOT string is made hostile and
# the name of the field that holds it.
BODY_ENDPOINTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/workflows", {"name": SLOT, "nodes": [], "edges": []}, "name"),
    ("PUT", "/api/workflows/{wf}", {"description": SLOT}, "description"),
    ("POST", "/api/workflows/validate", {"nodes": [{"id": SLOT, "type": "input", "config": {}}], "edges": []}, "nodes[0].id"),
    ("POST", "/api/workflows/{wf}/execute", {"input_data": {"topic": SLOT}}, "input_data.topic"),
    ("POST", "/api/workflows/generate", {"prompt": SLOT, "save": True}, "prompt"),
    ("POST", "/api/templates/recommend", {"prompt": SLOT}, "prompt"),
    ("POST", "/api/knowledge-bases", {"name": SLOT}, "name"),
    ("POST", "/api/knowledge-bases/{kb}/documents", {"title": "t", "content": SLOT}, "content"),
    ("POST", "/api/knowledge-bases/{kb}/search", {"query": SLOT}, "query"),
    ("POST", "/api/chat/sessions", {"title": SLOT}, "title"),
    ("POST", "/api/chat/sessions/{chat}/messages", {"content": SLOT}, "content"),
]
BODY_IDS = [f"{method} {path}" for method, path, _, _ in BODY_ENDPOINTS]


def hostile_body(body: dict[str, Any], replacement: bytes) -> bytes:
    raw = json.dumps(body).encode()
    assert raw.count(f'"{SLOT}"'.encode()) == 1
    return raw.replace(f'"{SLOT}"'.encode(), replacement)


async def snapshot(api, world: dict[str, str]) -> dict[str, Any]:
    """What a rejected request must not change."""
    return {
        "workflows": (await api.get("/api/workflows")).json()["total"],
        "workflow": (await api.get(f"/api/workflows/{world['wf']}")).json(),
        "versions": (await api.get(f"/api/workflows/{world['wf']}/versions")).json()["total"],
        "executions": (await api.get("/api/executions")).json()["total"],
        "bases": (await api.get("/api/knowledge-bases")).json()["total"],
        "documents": (await api.get(f"/api/knowledge-bases/{world['kb']}/documents")).json()["total"],
        "chat": (await api.get(f"/api/chat/sessions/{world['chat']}")).json(),
    }


async def send(api, method: str, path: str, world: dict[str, str], raw: bytes):
    return await getattr(api, method.lower())(path.format(**world), content=raw, headers=JSON)


@pytest.mark.parametrize(("method", "path", "body", "field"), BODY_ENDPOINTS, ids=BODY_IDS)
async def test_invalid_utf8_in_a_json_string_is_400_naming_the_field(api, world, method, path, body, field):
    before = await snapshot(api, world)
    response = await send(api, method, path, world, hostile_body(body, b'"ab\xff\xfecd"'))
    problem = assert_error(response, 400, f"body field '{field}'", "invalid UTF-8")["extra"][0]
    assert problem["key"] == field and problem["source"] == "body"
    assert await snapshot(api, world) == before


@pytest.mark.parametrize(("method", "path", "body", "field"), BODY_ENDPOINTS, ids=BODY_IDS)
@pytest.mark.parametrize("depth", [65, 1000])
async def test_deeply_nested_json_is_400_naming_the_field(api, world, method, path, body, field, depth):
    before = await snapshot(api, world)
    response = await send(api, method, path, world, hostile_body(body, b"[" * depth + b"]" * depth))
    problem = assert_error(response, 400, f"body field '{field}[0]", "nested deeper than 64 levels")["extra"][0]
    assert problem["key"].startswith(f"{field}[0][0]")
    assert await snapshot(api, world) == before


@pytest.mark.parametrize(("method", "path", "body", "field"), BODY_ENDPOINTS, ids=BODY_IDS)
async def test_nul_in_a_request_string_is_422_naming_the_field(api, world, method, path, body, field):
    before = await snapshot(api, world)
    response = await send(api, method, path, world, hostile_body(body, b'"a\\u0000b"'))
    problem = assert_error(response, 422, f"body field '{field}'", "NUL")["extra"][0]
    assert problem == {"key": field, "message": problem["message"], "source": "body"}
    assert await snapshot(api, world) == before


async def test_nul_anywhere_in_stored_json_is_422_naming_the_path(api, world):
    before = await snapshot(api, world)
    wid = world["wf"]
    graph = workflow_body()
    graph["nodes"][1]["config"]["prompt"] = "Write about \x00 {{ inputs.topic }}"
    assert_error(await api.post("/api/workflows", json=graph), 422, "body field 'nodes[1].config.prompt'", "NUL")
    settings = {"retries": {"x\x00y": 1}}  # in a key
    assert_error(await api.put(f"/api/workflows/{wid}", json={"settings": settings}), 422, "body field 'settings.retries.x\\u0000y'")
    assert_error(
        await api.post(f"/api/workflows/{wid}/execute", json={"input_data": {"topic": "t", "rows": [{"a": ["ok", "\x00"]}]}}),
        422, "body field 'input_data.rows[0].a[1]'",
    )
    assert_error(
        await api.post(f"/api/knowledge-bases/{world['kb']}/documents", json={"title": "t", "content": "c", "metadata": {"k": "\x00"}}),
        422, "body field 'metadata.k'",
    )
    assert await snapshot(api, world) == before


async def test_a_huge_string_of_nuls_is_rejected_without_a_500(api, world):
    response = await api.post("/api/knowledge-bases", json={"name": "\x00" * 10_000})
    assert_error(response, 422, "body field 'name'")


LIST_ENDPOINTS = [
    "/api/workflows",
    "/api/workflows/{wf}/versions",
    "/api/executions",
    "/api/knowledge-bases",
    "/api/knowledge-bases/{kb}/documents",
]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize("name", ["offset", "limit"])
@pytest.mark.parametrize("value", [HUGE, "9223372036854775808", "2147483648", "-" + HUGE])
async def test_out_of_range_paging_is_400_naming_the_parameter(api, world, path, name, value):
    body = assert_error(await api.get(path.format(**world), params={name: value}), 400, f"query parameter '{name}'")
    assert body["extra"][0]["key"] == name and body["extra"][0]["source"] == "query"


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
async def test_the_largest_offset_is_an_empty_page(api, world, path):
    response = await api.get(path.format(**world), params={"offset": str(2**31 - 1)})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


@pytest.mark.parametrize("version", [HUGE, "9223372036854775808", "2147483648"])
async def test_a_version_beyond_any_integer_is_400_naming_it(api, world, version):
    wid = world["wf"]
    for response in (
        await api.get(f"/api/workflows/{wid}/versions/{version}"),
        await api.post(f"/api/workflows/{wid}/versions/{version}/restore"),
    ):
        body = assert_error(response, 400, "path parameter 'version'")
        assert body["extra"][0] == {"key": "version", "message": body["extra"][0]["message"], "source": "path"}
    assert_error(await api.get(f"/api/workflows/{wid}/versions/{2**31 - 1}"), 404)
    assert (await api.get(f"/api/workflows/{wid}/versions")).json()["total"] == 1


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/workflows", {"name": "a\x00b"}, "name"),
        ("/api/workflows", {"template_id": "\x00"}, "template_id"),
        ("/api/executions", {"workflow_id": "wf_\x00"}, "workflow_id"),
        ("/api/templates", {"q": "\x00"}, "q"),
    ],
)
async def test_nul_in_a_query_parameter_is_422_naming_it(api, path, params, name):
    body = assert_error(await api.get(path, params=params), 422, f"query parameter '{name}'", "NUL")
    assert body["extra"][0]["key"] == name


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/api/workflows/wf%00x", "workflow_id"),
        ("DELETE", "/api/workflows/wf%00x", "workflow_id"),
        ("GET", "/api/knowledge-bases/kb%00x", "kb_id"),
        ("GET", "/api/executions/exe%00x", "execution_id"),
        ("GET", "/api/chat/sessions/chat%00x", "session_id"),
        ("GET", "/api/templates/t%00x", "template_id"),
    ],
)
async def test_nul_in_a_path_parameter_is_422_naming_it(api, method, path, name):
    body = assert_error(await getattr(api, method.lower())(path), 422, f"path parameter '{name}'", "NUL")
    assert body["extra"][0]["key"] == name


@pytest.mark.parametrize("path", ["/api/workflows", "/api/executions"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
async def test_a_datetime_outside_utc_is_400_naming_the_parameter(api, path, value):
    assert_error(await api.get(path, params={"created_after": value}), 400, "query parameter 'created_after'")
    ok = await api.get(path, params={"created_after": "0001-01-01T00:00:00+00:00"})
    assert ok.status_code == 200, ok.text


async def test_an_out_of_range_last_event_id_is_400_before_the_stream_starts(api, world):
    started = await api.post(f"/api/workflows/{world['wf']}/execute", json={"input_data": {"topic": "t"}})
    assert started.status_code == 202, started.text
    stream = f"/api/executions/{started.json()['execution_id']}/stream"
    for value in (HUGE, "9223372036854775808", str(2**31)):
        body = assert_error(await api.get(stream, headers={"Last-Event-ID": value}), 400, "header 'Last-Event-ID'")
        assert body["extra"][0]["source"] == "header"
        assert_error(await api.get(stream, params={"last_event_id": value}), 400, "query parameter 'last_event_id'")
    chat_stream = f"/api/chat/sessions/{world['chat']}/messages/msg_x/stream"
    assert_error(await api.get(chat_stream, headers={"Last-Event-ID": HUGE}), 400, "header 'Last-Event-ID'")
    before = await snapshot(api, world)
    post = await api.post(f"/api/chat/sessions/{world['chat']}/messages", json={"content": "hi"}, headers={"Last-Event-ID": HUGE})
    assert_error(post, 400, "header 'Last-Event-ID'")
    assert await snapshot(api, world) == before
