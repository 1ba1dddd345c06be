"""The outbound guard over real sockets: allow-listed loopback servers, redirect hops, DNS pinning,
response size cap, total deadline."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from pilot.outbound import DestinationBlocked, GuardedHttp, ResponseTooLarge
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


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for ``pinned.test``."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=pinned.test", "-addext", "subjectAltName=DNS:pinned.test"],
        check=True, capture_output=True,
    )
    seen: list[str] = []
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.sni_callback = lambda _sock, name, _ctx: seen.append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client_ctx = ssl.create_default_context(cafile=str(cert))
    yield httpd.server_address[1], client_ctx, seen
    httpd.shutdown()


async def test_tls_keeps_sni_and_hostname_check_while_pinned(tls_server) -> None:
    port, client_ctx, seen = tls_server

    async def resolver(host: str) -> list[str]:
        return ["127.0.0.1"]

    guard = GuardedHttp(EngineSettings(http_allowlist=["127.0.0.0/8"]), resolver=resolver, ssl_context=client_ctx)
    response = await guard.request("GET", f"https://pinned.test:{port}/")
    assert response.text == "ok" and seen[-1] == "pinned.test"
    # Same pinned address, different name: the certificate check still applies to the name.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await guard.request("GET", f"https://other.test:{port}/")


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("http://0177.0.0.1/", "InvalidURL", "invalid URL"),
        ("http://[2002:7f00:1::]/", "DestinationBlocked", "6to4 address embedding 127.0.0.1"),
        ("http://[fec0::1]/", "DestinationBlocked", "site-local"),
        ("ftp://example.com/", "InvalidURL", "invalid URL"),
        ("http://[::1/", "InvalidURL", "invalid URL"),
    ],
)
async def test_bad_and_disguised_urls_are_refusals_not_crashes(url: str, error: str, message: str) -> None:
    from pilot import outbound

    with pytest.raises(getattr(outbound, error), match=message) as caught:
        await _guard().request("GET", url, timeout_s=2)
    assert isinstance(caught.value, outbound.OutboundError) and not caught.value.retryable


async def test_one_pooled_connection_serves_consecutive_requests(servers) -> None:
    a_url, a_app, *_ = servers
    guard = _guard(_hostport(a_url))
    try:
        for _ in range(3):
            assert (await guard.request("GET", a_url + "/json")).status_code == 200
        pool = guard._client()._transport._pool  # noqa: SLF001 - asserting keep-alive reuse
        assert len(pool.connections) == 1
    finally:
        await guard.aclose()
