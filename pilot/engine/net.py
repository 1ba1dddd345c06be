"""The outbound HTTP guard: every request a workflow makes (api node, webhook/Slack tools) goes
through here, so a workflow cannot be used to reach the server's own network (SSRF).

Design (why the check sits at *connect* time):

- The check lives in an httpcore network backend (:class:`GuardedBackend`). httpcore calls
  ``connect_tcp(host, port)`` for every new connection, so every request *and every redirect hop*
  that opens a connection is checked; a reused keep-alive connection belongs to an origin that was
  already checked. Redirects are followed by httpx (bounded by ``max_redirects``), hop by hop, each
  hop passing through this backend.
- DNS rebinding: the backend resolves the name once, checks **all** addresses it got, and then
  connects to one of those exact addresses. There is no second lookup an attacker could answer
  differently. TLS still uses the original host name for SNI and certificate checks (httpcore
  passes the origin's host name as ``server_hostname``), so pinning does not weaken HTTPS.
- Host literals are normalised the way ``inet_aton`` reads them ("2130706433", "0x7f.1",
  "0177.0.0.1" all mean 127.0.0.1) before checking, and the normalised address is what we connect
  to; IPv4-mapped IPv6 (``::ffff:127.0.0.1``) is refused outright.
- Refused unless allowed: anything that is not globally routable (private, loopback, link-local
  incl. 169.254.169.254 cloud metadata, unique-local, CGNAT, documentation, reserved, 0.0.0.0)
  and multicast. ``settings.engine.http_allow_private`` lifts the rule; ``http_allowlist`` entries
  lift it per destination: ``host``, ``host:port`` (exact URL host), an IP or a CIDR (matched
  against the resolved address).
- Responses are capped at ``http_max_response_bytes`` while streaming (declared Content-Length
  checked first); exceeding it aborts the read with :class:`ResponseTooLarge`.
- Environment proxies are ignored (``trust_env=False``): a proxy would connect on our behalf and
  bypass the pinning.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

from pilot.settings import EngineSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Awaitable[list[str]]]
"""``async resolve(host) -> [ip, ...]``: the DNS seam (tests inject a fake one)."""

MAX_REDIRECTS = 5


class OutboundError(Exception):
    """Base of the guard's refusals. Not retryable: retrying cannot make the target allowed."""


class DestinationBlocked(OutboundError):
    """The destination resolves to an address workflows may not reach."""


class ResponseTooLarge(OutboundError):
    """The response body exceeded ``http_max_response_bytes``."""


def retry_after_seconds(headers: httpx.Headers | dict[str, str], *, cap: float = 3600.0) -> float | None:
    """Parse ``Retry-After`` (delta-seconds or an HTTP date) into seconds, capped; None if absent/invalid."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver (getaddrinfo, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        ip = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if ip not in seen:
            seen.append(ip)
    return seen


def parse_ip_literal(host: str) -> IPAddress | None:
    """Parse ``host`` as an IP the way ``inet_aton``/browsers do, or return None for a name.

    Accepts ``[v6]``, dotted quads and the legacy forms with 1-4 parts, each decimal, octal
    (leading 0) or hex (0x): ``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.01``.
    """
    h = host.strip().rstrip(".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h.split("%", 1)[0])
        except ValueError:
            return None
    parts = h.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                if not part.isdigit():
                    return None
                values.append(int(part, 10))
        except ValueError:
            return None
    # The last part fills the remaining bytes: a.b.c.d / a.b.(16 bits) / a.(24 bits) / (32 bits).
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached by a workflow, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    for attr, label in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (cloud metadata lives here)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attr):
            return label
    if not ip.is_global:
        return "a non-public address"
    return None


class AccessPolicy:
    """Decides whether ``host:port`` (as written in the URL) at address ``ip`` may be reached."""

    def __init__(self, *, allow_private: bool = False, allowlist: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self._hosts: set[str] = set()
        self._host_ports: set[tuple[str, int]] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in allowlist:
            self._add(raw.strip().lower())

    def _add(self, entry: str) -> None:
        if not entry:
            return
        try:
            self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            return
        except ValueError:
            pass
        host, sep, port = entry.rpartition(":")
        if sep and port.isdigit() and host and (not host.count(":") or host.startswith("[")):
            self._host_ports.add((host.strip("[]").rstrip("."), int(port)))
        else:
            self._hosts.add(entry.strip("[]").rstrip("."))

    def host_allowed(self, host: str, port: int) -> bool:
        """The URL's host (or host:port) is explicitly allow-listed."""
        h = host.lower().strip("[]").rstrip(".")
        return h in self._hosts or (h, port) in self._host_ports

    def check(self, host: str, port: int, ip: IPAddress) -> None:
        """Raise :class:`DestinationBlocked` unless the destination is allowed."""
        if self.allow_private or self.host_allowed(host, port):
            return
        if any(ip in net for net in self._networks if net.version == ip.version):
            return
        reason = blocked_reason(ip)
        if reason is not None:
            bare = host.strip("[]")
            target = f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"
            shown = target if str(ip) == bare else f"{target} ({ip})"
            raise DestinationBlocked(
                f"outbound request to {shown} refused: {reason}; "
                "allow it with PILOT_HTTP_ALLOWLIST or PILOT_HTTP_ALLOW_PRIVATE"
            )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and pins every TCP connection."""

    def __init__(self, policy: AccessPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or system_resolver
        self._inner = AutoBackend()

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


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int, url: str) -> None:
        self._inner, self._limit, self._url = inner, limit, url

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ResponseTooLarge(f"response from {self._url} exceeds the {self._limit}-byte limit")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """The verifying client context, built once (loading the CA bundle costs ~20 ms).

    ``trust_env`` here only means SSL_CERT_FILE/SSL_CERT_DIR (internal CAs); proxies stay off.
    """
    return httpx.create_ssl_context(trust_env=True)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport using :class:`GuardedBackend` and capping response bodies."""

    def __init__(
        self,
        policy: AccessPolicy,
        *,
        max_response_bytes: int,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        ssl_context = ssl_context or default_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        self.max_response_bytes = max_response_bytes
        # httpx does not expose httpcore's network_backend parameter: replace the pool the parent
        # built (no connections yet) with one that connects through the guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            await response.aclose()
            raise ResponseTooLarge(
                f"response from {request.url.host} declares {declared} bytes, "
                f"over the {self.max_response_bytes}-byte limit"
            )
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, self.max_response_bytes, str(request.url.host)),
            extensions=response.extensions,
        )


class GuardedHttp:
    """Factory of guarded httpx clients (``EngineServices.http``)."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = AccessPolicy(allow_private=settings.http_allow_private, allowlist=settings.http_allowlist)
        self.max_response_bytes = settings.http_max_response_bytes
        self._resolver = resolver
        self._ssl_context = ssl_context

    def client(self, *, timeout_s: float = 30.0, max_redirects: int = MAX_REDIRECTS) -> httpx.AsyncClient:
        """A new client; use it as ``async with``. Redirects are followed, each hop guarded."""
        transport = GuardedTransport(
            self.policy, max_response_bytes=self.max_response_bytes, resolver=self._resolver, ssl_context=self._ssl_context
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=max_redirects > 0,
            max_redirects=max_redirects,
            trust_env=False,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout_s: float = 30.0,
        max_redirects: int = MAX_REDIRECTS,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with the body read (capped) and a *total* deadline of ``timeout_s``.

        httpx's own timeouts bound each connect/read; the outer deadline also stops a server that
        trickles bytes forever. Raises httpx errors, :class:`OutboundError`, or TimeoutError.
        """
        async with self.client(timeout_s=timeout_s, max_redirects=max_redirects) as client:
            async with asyncio.timeout(timeout_s):
                response = await client.request(method, url, **kwargs)
                await response.aread()
                return response
