"""Tools API: tool instances CRUD (SQLite and PostgreSQL, tenancy, bad input naming the field),
the connectors listing, and ``POST /api/tools/{id}/test`` making real calls — HTTP HEAD against a
local server, SMTP NOOP against the test SMTP server, bot pings — with the outbound guard
applied and a failing provider's message redacted of the credential."""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from tests.conftest import Api, build_settings, new_workspace_key
from tests.support.echo_server import echo_server
from tests.support.smtp_server import smtp_server

URL = "/api/tools"


async def _credential(api, name: str, type_: str, value: str) -> None:
    r = await api.post("/api/credentials", json={"name": name, "type": type_, "value": value})
    assert r.status_code == 201, r.text


async def test_crud_and_listing(api, other_api) -> None:
    await _credential(api, "hook_token", "bearer_token", "tok-" + secrets.token_urlsafe(20))
    r = await api.post(URL, json={"name": "search", "connector": "http", "credential": "hook_token",
                                  "description": "web search", "defaults": {"url": "https://search.example/api", "method": "GET"}})
    assert r.status_code == 201, r.text
    tool = r.json()
    assert tool["id"].startswith("tool_") and tool["credential"] == "hook_token" and tool["defaults"]["method"] == "GET"
    listing = (await api.get(URL)).json()
    assert [t["name"] for t in listing["items"]] == ["search"] and listing["total"] == 1
    assert "http" in [c["name"] for c in listing["connectors"]]
    assert (await api.get(f"{URL}/search")).json()["id"] == tool["id"]  # by name too
    r = await api.put(f"{URL}/{tool['id']}", json={"description": "better", "credential": ""})
    assert r.status_code == 200 and r.json()["description"] == "better" and r.json()["credential"] is None
    assert (await api.post(URL, json={"name": "search", "connector": "webhook"})).status_code == 409
    # another workspace sees nothing
    assert (await other_api.get(f"{URL}/{tool['id']}")).status_code == 404
    assert (await other_api.post(f"{URL}/{tool['id']}/test")).status_code == 404
    assert (await other_api.get(URL)).json()["items"] == []
    assert (await api.delete(f"{URL}/{tool['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{tool['id']}")).status_code == 404


async def test_listing_pages_carry_the_workspace_total(api, other_api) -> None:
    for name in ("c_tool", "a_tool", "b_tool"):
        assert (await api.post(URL, json={"name": name, "connector": "webhook"})).status_code == 201
    page = (await api.get(URL, params={"limit": 2})).json()
    assert [t["name"] for t in page["items"]] == ["a_tool", "b_tool"] and page["total"] == 3
    page = (await api.get(URL, params={"limit": 2, "offset": 2})).json()
    assert [t["name"] for t in page["items"]] == ["c_tool"] and page["total"] == 3
    past = (await api.get(URL, params={"offset": 10})).json()
    assert past["items"] == [] and past["total"] == 3  # a page past the end still says how many there are
    empty = (await other_api.get(URL)).json()
    assert empty["items"] == [] and empty["total"] == 0


async def test_connectors_listing_is_the_registry_description(api) -> None:
    """Built once per process now: still every connector, sorted, each with its arguments' JSON Schema."""
    import msgspec

    from pilot.tools.registry import default_registry

    registry = default_registry()
    expected = [{"name": name, "description": registry.get(name).description, "configured": registry.get(name).configured(
        api.client.app.state.runtime.settings), "arguments_schema": msgspec.json.schema(registry.get(name).arguments)}
        for name in registry.names()]
    for _ in range(2):
        connectors = (await api.get(f"{URL}/connectors")).json()["items"]
        assert connectors == json.loads(json.dumps(expected))
        assert (await api.get(URL)).json()["connectors"] == connectors


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"name": "x", "connector": "telegraph"}, "connector", "unknown connector 'telegraph'"),
    ({"name": "x", "connector": "http", "defaults": {"nope": 1}}, "defaults", "nope not an argument of 'http'"),
    ({"name": "x", "connector": "http", "config": {"smtp_host": "a"}}, "config", "takes no config"),
    ({"name": "x", "connector": "email", "config": {"smtp_port": "many"}}, "config", "Expected `int"),
    ({"name": "x", "connector": "http", "credential": "missing"}, "credential", "no credential named 'missing'"),
    ({"name": "bad name", "connector": "http"}, "name", "matching regex"),
])
async def test_bad_input_names_the_field(api, body, field, text) -> None:
    r = await api.post(URL, json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"] and text in r.json()["detail"]


# ---------------------------------------------------------------- the test call

@pytest.fixture(scope="module")
def servers():
    with echo_server() as (allowed, app), echo_server() as (blocked, _), smtp_server() as smtp:
        yield allowed, app, blocked, smtp


@pytest.fixture(scope="module")
async def probe_client(servers, tmp_path_factory):
    allowed, _, _, smtp = servers
    allow = f"{urlsplit(allowed).netloc},127.0.0.1:{smtp.server_address[1]}"
    settings = build_settings(tmp_path_factory.mktemp("tools-probe") / ".pilot", None, PILOT_HTTP_ALLOWLIST=allow)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture
async def papi(probe_client) -> Api:
    return Api(probe_client, await new_workspace_key(probe_client.app))


async def _test(papi, body: dict) -> dict:
    r = await papi.post(URL, json=body)
    assert r.status_code == 201, r.text
    r = await papi.post(f"{URL}/{r.json()['id']}/test")
    assert r.status_code == 200, r.text
    result = r.json()
    assert set(result) == {"ok", "detail", "elapsed_ms", "tool", "connector"} and result["elapsed_ms"] >= 0
    return result


async def test_http_head(papi, servers) -> None:
    allowed, app, blocked, _ = servers
    token = "hd-" + secrets.token_urlsafe(20)
    await _credential(papi, "api_token", "bearer_token", token)
    result = await _test(papi, {"name": "up", "connector": "http", "credential": "api_token", "defaults": {"url": f"{allowed}/json"}})
    assert result["ok"] and result["detail"] == "HEAD 127.0.0.1 answered 200", result
    assert app.received[-1]["method"] == "HEAD" and app.received[-1]["headers"]["authorization"] == f"Bearer {token}"
    result = await _test(papi, {"name": "gone", "connector": "webhook", "defaults": {"url": f"{allowed}/status/404"}})
    assert not result["ok"] and "answered 404" in result["detail"]
    result = await _test(papi, {"name": "internal", "connector": "http", "defaults": {"url": f"{blocked}/json"}})
    assert not result["ok"] and "refused" in result["detail"] and "PILOT_HTTP_ALLOWLIST" in result["detail"]


async def test_smtp_noop(papi, servers) -> None:
    *_, smtp = servers
    config = {"smtp_host": "127.0.0.1", "smtp_port": smtp.server_address[1], "smtp_starttls": False}
    result = await _test(papi, {"name": "mail", "connector": "email", "config": config})
    assert result["ok"] and result["detail"].endswith("EHLO, NOOP answered 250"), result
    assert smtp.messages == []  # nothing was sent
    password = "pw-" + secrets.token_urlsafe(16)
    await _credential(papi, "smtp_pw", "smtp", password)
    result = await _test(papi, {"name": "mail_auth", "connector": "email", "credential": "smtp_pw",
                                "config": {**config, "smtp_user": "bot"}})
    assert not result["ok"] and "AUTH" in result["detail"] and password not in json.dumps(result)
    result = await _test(papi, {"name": "mail_blocked", "connector": "email", "config": {**config, "smtp_port": 1}})
    assert not result["ok"] and "refused" in result["detail"]


async def test_bot_ping_and_a_failure_that_echoes_the_secret(papi, servers) -> None:
    allowed, app, _, _ = servers
    await _credential(papi, "slack_hook", "slack_webhook", f"{allowed}/status/400?path=T0/B0/" + secrets.token_hex(12))
    result = await _test(papi, {"name": "slack_ok", "connector": "slack", "credential": "slack_hook"})
    assert result["ok"] and "nothing was posted" in result["detail"], result
    assert app.received[-1]["json"] == {}  # the empty ping
    token = secrets.token_hex(16)
    answer = json.dumps({"errcode": 300001, "errmsg": f"token {token} is not exist"})
    await _credential(papi, "ding", "dingtalk_bot", f"{allowed}/reply?access_token={token}&body={quote(answer)}")
    result = await _test(papi, {"name": "ding_bad", "connector": "dingtalk", "credential": "ding"})
    assert not result["ok"] and "is not exist" in result["detail"] and "[REDACTED]" in result["detail"], result
    assert token not in json.dumps(result)
