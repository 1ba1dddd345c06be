"""The ``api`` node over real sockets: rendering, JSON handling, error classes, SSRF refusals."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pilot.engine.errors import NodeError
from pilot.engine.nodes.api import ApiRunner
from pilot.settings import Settings
from tests.support.echo_server import echo_server
from tests.support.node_ctx import make_ctx, services

RUN = ApiRunner()


@pytest.fixture(scope="module")
def server():
    with echo_server() as (url, app), echo_server() as (other_url, _):
        yield url, app, other_url


def _svc(url: str | None, **env: str):
    allow = urlsplit(url).netloc if url else ""
    return services(Settings.from_env({"PILOT_HTTP_ALLOWLIST": allow, **env}))


async def _run(server_url: str | None, config: dict, scope: dict | None = None, **env: str):
    ctx = make_ctx({"type": "api", "config": config}, _svc(server_url, **env), scope=scope)
    return await RUN.run(ctx)


async def test_get_json_with_rendered_query_and_safe_headers(server) -> None:
    url, app, _ = server
    out = await _run(url, {"url": url + "/json", "query": {"q": "{{ inputs.term }}"}, "headers": {"X-Trace": "t-{{ inputs.n }}"}},
                     {"inputs": {"term": "退款 policy", "n": 7}, "nodes": {}})
    assert out["status"] == 200 and out["body"] == {"ok": True, "items": [1, 2, 3]}
    assert out["headers"]["content-type"] == "application/json"
    assert "set-cookie" not in out["headers"]  # never leaked into run outputs/events
    assert app.received[-1]["query"] == {"q": "退款 policy"} and app.received[-1]["headers"]["x-trace"] == "t-7"


async def test_query_is_merged_with_the_urls_own(server) -> None:
    url, app, _ = server
    await _run(url, {"url": url + "/echo?key=abc", "query": {"q": "{{ inputs.q }}"}}, {"inputs": {"q": "a&b"}, "nodes": {}})
    assert app.received[-1]["query"] == {"key": "abc", "q": "a&b"}


async def test_post_renders_json_body(server) -> None:
    url, *_ = server
    scope = {"inputs": {"name": "Ada"}, "nodes": {"prev": {"output": {"score": 3}}}}
    out = await _run(url, {"method": "POST", "url": url + "/echo",
                           "body": '{"name": {{ inputs.name | tojson }}, "score": {{ nodes.prev.output.score }}}'}, scope)
    assert out["body"]["json"] == {"name": "Ada", "score": 3}
    assert out["body"]["headers"]["content-type"] == "application/json"


async def test_text_body_and_explicit_content_type(server) -> None:
    url, *_ = server
    out = await _run(url, {"url": url + "/text"})
    assert out["body"] == "hello 你好"
    echoed = await _run(url, {"method": "PUT", "url": url + "/echo", "body": "a=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}})
    assert echoed["body"]["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_4xx_is_not_retryable(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match="answered 404") as info:
        await _run(url, {"url": url + "/status/404"})
    assert not info.value.retryable


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_is_retryable(server, code: int) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match=f"answered {code}") as info:
        await _run(url, {"url": f"{url}/status/{code}"})
    assert info.value.retryable


async def test_429_passes_retry_after(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError) as info:
        await _run(url, {"url": f"{url}/status/429?retry_after=3"})
    assert info.value.retryable and info.value.retry_after == 3


async def test_timeout_is_retryable(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match="timed out after 0.3s") as info:
        await _run(url, {"url": f"{url}/slow?s=3", "timeout_s": 0.3})
    assert info.value.retryable


async def test_connection_refused_is_retryable() -> None:
    with pytest.raises(NodeError, match="ConnectError") as info:
        await _run("http://127.0.0.1:9", {"url": "http://127.0.0.1:9/x"})
    assert info.value.retryable


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1/", "http://localhost/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/",
     "http://172.16.0.1/", "http://192.168.1.1/", "http://[::1]/", "http://2130706433/", "http://0x7f.1/"],
)
async def test_ssrf_targets_are_refused(target: str) -> None:
    with pytest.raises(NodeError, match="refused") as info:
        await _run(None, {"url": target})
    assert not info.value.retryable


async def test_redirect_to_unlisted_loopback_is_refused(server) -> None:
    url, _, other_url = server
    with pytest.raises(NodeError, match=f"{urlsplit(other_url).netloc}.*refused") as info:
        await _run(url, {"url": f"{url}/redirect?to={other_url}/json"})
    assert not info.value.retryable


async def test_template_url_cannot_bypass_guard() -> None:
    """A URL assembled from run inputs is checked like any other."""
    with pytest.raises(NodeError, match="refused"):
        await _run(None, {"url": "http://{{ inputs.host }}/admin"}, {"inputs": {"host": "169.254.169.254"}, "nodes": {}})


async def test_response_cap(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match="exceeds the 1000-byte limit") as info:
        await _run(url, {"url": f"{url}/big?n=5000"}, PILOT_HTTP_MAX_RESPONSE_BYTES="1000")
    assert not info.value.retryable


async def test_sandbox_escape_fails_clearly(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match="url: .*sandbox") as info:
        await _run(url, {"url": url + "/{{ ().__class__.__mro__ }}"})
    assert not info.value.retryable


async def test_header_injection_is_refused(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError, match="headers.X-User: the rendered value contains a line break") as info:
        await _run(url, {"url": url + "/echo", "headers": {"X-User": "{{ inputs.u }}"}},
                   {"inputs": {"u": "bob\r\nX-Admin: true"}, "nodes": {}})
    assert not info.value.retryable


async def test_non_http_scheme_is_refused() -> None:
    with pytest.raises(NodeError, match="absolute http"):
        await _run(None, {"url": "file:///etc/passwd"})


async def test_secrets_in_query_are_not_echoed_in_errors(server) -> None:
    url, *_ = server
    with pytest.raises(NodeError) as info:
        await _run(url, {"url": f"{url}/status/500?api_key=SECRET123"})
    assert "SECRET123" not in str(info.value)
