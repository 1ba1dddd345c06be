"""The outbound guard over real sockets: allow-listed loopback servers, redirect hops, DNS pinning,
response size cap, total deadline."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from pilot.engine.net import DestinationBlocked, GuardedHttp, ResponseTooLarge
from pilot.settings import EngineSettings
from tests.support.echo_server import echo_server


@pytest.fixture(scope="module")
def servers():
    with echo_server() as (a_url, a_app), echo_server() as (b_url, b_app):
        yield a_url, a_app, b_url, b_app


def _hostport(url: str) -> str:
    return urlsplit(url).netloc


def _guard(*allowed: str, max_bytes: int = 5_000_000, resolver=None) -> GuardedHttp:
    return GuardedHttp(EngineSettings(http_allowlist=list(allowed), http_max_response_bytes=max_bytes), resolver=resolver)


async def test_loopback_refused_by_default(servers) -> None:
    a_url, *_ = servers
    with pytest.raises(DestinationBlocked, match="loopback"):
        await _guard().request("GET", a_url + "/json")


async def test_allowlisted_host_port_reaches_the_server(servers) -> None:
    a_url, *_ = servers
    response = await _guard(_hostport(a_url)).request("GET", a_url + "/json")
    assert response.status_code == 200 and response.json()["ok"] is True


async def test_redirect_to_non_allowlisted_loopback_port_is_refused(servers) -> None:
    a_url, _, b_url, b_app = servers
    before = len(b_app.received)
    with pytest.raises(DestinationBlocked, match=_hostport(b_url).replace(".", r"\.")):
        await _guard(_hostport(a_url)).request("GET", f"{a_url}/redirect?to={b_url}/echo")
    assert len(b_app.received) == before  # the second server was never contacted


async def test_redirect_to_metadata_address_is_refused(servers) -> None:
    a_url, *_ = servers
    with pytest.raises(DestinationBlocked, match="169.254.169.254"):
        await _guard(_hostport(a_url)).request("GET", f"{a_url}/redirect?to=http://169.254.169.254/latest/meta-data")


async def test_redirects_between_allowed_hosts_are_followed(servers) -> None:
    a_url, _, b_url, _ = servers
    response = await _guard(_hostport(a_url), _hostport(b_url)).request("GET", f"{a_url}/redirect?to={b_url}/json")
    assert response.status_code == 200 and str(response.url).startswith(b_url)


async def test_redirect_chain_is_bounded(servers) -> None:
    a_url, *_ = servers
    url = f"{a_url}/json"
    for _ in range(4):
        url = f"{a_url}/redirect?to={httpx.URL(url)}"
    with pytest.raises(httpx.TooManyRedirects):
        await _guard(_hostport(a_url)).request("GET", url, max_redirects=2)


async def test_connection_is_pinned_to_the_checked_address(servers) -> None:
    """A name whose first answer is allowed connects to that address, not a later answer."""
    a_url, *_ = servers
    port = urlsplit(a_url).port
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])  # a rebinding resolver
    calls = []

    async def rebinding(host: str) -> list[str]:
        calls.append(host)
        return next(answers)

    guard = _guard("127.0.0.0/8", resolver=rebinding)
    response = await guard.request("GET", f"http://pinned.test:{port}/echo")
    assert response.status_code == 200
    assert response.json()["headers"]["host"] == f"pinned.test:{port}"  # Host header kept
    assert calls == ["pinned.test"]  # exactly one lookup


async def test_hostname_resolving_to_loopback_refused_over_http(servers) -> None:
    a_url, *_ = servers
    port = urlsplit(a_url).port

    async def to_loopback(host: str) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(DestinationBlocked, match="evil.test"):
        await _guard(resolver=to_loopback).request("GET", f"http://evil.test:{port}/json")


async def test_response_size_cap_aborts_streamed_body(servers) -> None:
    a_url, *_ = servers
    guard = _guard(_hostport(a_url), max_bytes=100_000)
    ok = await guard.request("GET", f"{a_url}/big?n=100000")
    assert len(ok.content) == 100_000
    with pytest.raises(ResponseTooLarge, match="100000-byte limit"):
        await guard.request("GET", f"{a_url}/big?n=300000")


async def test_declared_content_length_over_cap_is_refused(servers) -> None:
    a_url, *_ = servers
    with pytest.raises(ResponseTooLarge, match="declares"):
        await _guard(_hostport(a_url), max_bytes=10).request("GET", f"{a_url}/json")


async def test_total_deadline(servers) -> None:
    a_url, *_ = servers
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises((TimeoutError, httpx.TimeoutException)):
        await _guard(_hostport(a_url)).request("GET", f"{a_url}/slow?s=3", timeout_s=0.3)
    assert loop.time() - started < 2
