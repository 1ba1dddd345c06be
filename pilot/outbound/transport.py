"""The guarded httpx transport, built on public httpx/httpcore APIs only.

Why the check sits at *connect* time: httpcore calls the network backend's ``connect_tcp(host,
port)`` for every new connection, so every request *and every redirect hop* that opens a
connection is checked; a reused keep-alive connection belongs to an origin already checked.

DNS rebinding: :class:`GuardedBackend` resolves the name once, checks **all** addresses, then
connects to one of those exact addresses; there is no second lookup an attacker could answer
differently. TLS still verifies the original host name (httpcore passes the origin's host as
``server_hostname``), so pinning does not weaken HTTPS. Host literals are normalised the way
``inet_aton`` reads them ("0177.0.0.1" is 127.0.0.1) before checking.

:class:`GuardedTransport` is an ``httpx.AsyncBaseTransport`` around an
``httpcore.AsyncConnectionPool(network_backend=GuardedBackend)``: httpx's own
``AsyncHTTPTransport`` has no public way to pass a network backend, so this ~60-line adapter
maps requests, responses and exceptions between the two libraries instead of overriding
private attributes. Response bodies are capped while streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from pilot.outbound.addresses import AccessPolicy, IPAddress, parse_ip_literal
from pilot.outbound.errors import DestinationBlocked, ResponseTooLarge

Resolver = Callable[[str], Awaitable[list[str]]]
"""``async resolve(host) -> [ip, ...]``: the DNS seam (tests inject a fake one)."""


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver (getaddrinfo, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        ip = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if ip not in seen:
            seen.append(ip)
    return seen


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and pins every TCP connection."""

    def __init__(self, policy: AccessPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or system_resolver
        self._inner = httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
        """The checked addresses for ``host``; raises DestinationBlocked if any is refused."""
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await asyncio.wait_for(self._resolver(host), timeout)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
            addresses = [ipaddress.ip_address(ip) for ip in found]
            if not addresses:
                raise httpcore.ConnectError(f"{host!r} has no addresses")
        # Every address must pass: otherwise an attacker could mix a public and a private record.
        for ip in addresses:
            self._policy.check(host, port, ip)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve(host, port, timeout)
        last: Exception | None = None
        for ip in addresses:  # connect to the checked address itself: no second DNS lookup
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise DestinationBlocked("unix sockets are not reachable from workflows")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore's exceptions → httpx's, so callers handle one library's errors (most specific first).
_EXCEPTIONS: tuple[tuple[type[Exception], type[Exception]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _mapped_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpcore.UnsupportedProtocol as exc:  # before the generic loop: no request kwarg quirks
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__, request=request) from exc
        raise


class _CappedStream(httpx.AsyncByteStream):
    """The response body, with httpcore errors mapped and the size capped while streaming."""

    def __init__(self, inner: Any, limit: int, request: httpx.Request) -> None:
        self._inner, self._limit, self._request = inner, limit, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        with _mapped_errors(self._request):
            async for chunk in self._inner:
                seen += len(chunk)
                if seen > self._limit:
                    raise ResponseTooLarge(f"response from {self._request.url.host} exceeds the {self._limit}-byte limit")
                yield chunk

    async def aclose(self) -> None:
        with _mapped_errors(self._request):
            await self._inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose connections go through :class:`GuardedBackend`, with capped bodies."""

    def __init__(
        self,
        policy: AccessPolicy,
        *,
        max_response_bytes: int,
        ssl_context: ssl.SSLContext,
        resolver: Resolver | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
    ) -> None:
        self.max_response_bytes = max_response_bytes
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port, target=request.url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _mapped_errors(request):
            response = await self._pool.handle_async_request(core_request)
        declared = httpx.Headers(response.headers).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            await response.aclose()
            raise ResponseTooLarge(
                f"response from {request.url.host} declares {declared} bytes, "
                f"over the {self.max_response_bytes}-byte limit"
            )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CappedStream(response.stream, self.max_response_bytes, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
