"""The one outbound HTTP client of the process: every request a workflow makes goes through it.

:class:`GuardedHttp` keeps one pooled, keep-alive ``httpx.AsyncClient`` per event loop (a
process has one; tests may run several), built on :class:`GuardedTransport`, so connections are
reused across requests instead of a new pool per request. Redirects are followed by httpx hop
by hop (at most :data:`MAX_REDIRECTS`), each new connection checked by the guard. Environment
proxies are ignored (``trust_env=False``): a proxy would connect on our behalf and bypass the
pinning.

Errors: httpx's own (timeouts, connection failures) and :class:`OutboundError` subclasses —
:class:`DestinationBlocked`, :class:`ResponseTooLarge`, :class:`InvalidURL` (a URL httpx cannot
even parse, such as ``http://0177.0.0.1/`` in httpx's strict IPv4 reading, is a refusal with
a reason, never a crash).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from pilot.outbound.addresses import AccessPolicy
from pilot.core.failures import classify_status
from pilot.core.redaction import clip, redact
from pilot.observability.tracing import http_span, mark_error
from pilot.outbound.errors import HTTPStatusFailure, InvalidURL, OutboundError, OutboundTimeout, OutboundUnavailable
from pilot.outbound.transport import GuardedTransport, Resolver
from pilot.settings import EngineSettings

MAX_REDIRECTS = 5


def _where(url: str) -> str:
    """Scheme, host and path only: query strings often carry API keys."""
    try:
        u = httpx.URL(url)
    except httpx.InvalidURL:
        return url.split("?", 1)[0][:200]
    return f"{u.scheme}://{u.netloc.decode()}{u.path}"


@dataclass(slots=True)
class _LoopClients:
    transport: GuardedTransport
    clients: dict[int, httpx.AsyncClient]


@lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """The verifying client context, built once (loading the CA bundle costs ~20 ms).

    ``trust_env`` here only means SSL_CERT_FILE/SSL_CERT_DIR (internal CAs); proxies stay off.
    """
    return httpx.create_ssl_context(trust_env=True)


class GuardedHttp:
    """The process's guarded HTTP client (``EngineServices.http``)."""

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
        # Per event loop: one transport (the connection pool) and a client per redirect bound
        # (httpx fixes max_redirects per client); the clients share the pool.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = weakref.WeakKeyDictionary()

    def _client(self, max_redirects: int = MAX_REDIRECTS) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is None:
            transport = GuardedTransport(
                self.policy, max_response_bytes=self.max_response_bytes, resolver=self._resolver,
                ssl_context=self._ssl_context or default_ssl_context(),
            )
            entry = self._pools[loop] = _LoopClients(transport, {})
        client = entry.clients.get(max_redirects)
        if client is None:
            client = entry.clients[max_redirects] = httpx.AsyncClient(
                transport=entry.transport, max_redirects=max_redirects, trust_env=False
            )
        return client

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
        trickles bytes forever. ``max_redirects=0`` does not follow redirects. Raises httpx
        errors, :class:`OutboundError`, or TimeoutError. With tracing on, it is one client span.
        """
        client = self._client(max(max_redirects, 0))
        try:
            request = client.build_request(method, url, timeout=httpx.Timeout(timeout_s), **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise InvalidURL(f"invalid URL {url[:200]!r}: {exc}") from exc
        with http_span(method, url) as span:  # None while tracing is off
            async with asyncio.timeout(timeout_s):
                try:
                    response = await client.send(request, follow_redirects=max_redirects > 0)
                except httpx.UnsupportedProtocol as exc:
                    raise InvalidURL(f"invalid URL {url[:200]!r}: {exc}") from exc
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 400:
                    mark_error(span, str(response.status_code))
            return response

    async def call(
        self, method: str, url: str, *, timeout_s: float = 30.0, label: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """:meth:`request`, with every failure as an :class:`OutboundError` carrying its
        ``retryable`` / ``retry_after`` (the one place HTTP failures are classified).

        A 4xx/5xx answer raises :class:`HTTPStatusFailure` (message: ``"{METHOD} {where}
        answered {status}: {body snippet}"``, the snippet redacted); ``where`` is the URL without
        its query string, which often carries API keys. ``label`` replaces it (tools pass the
        host alone: webhook URLs carry their secret in the path)."""
        where = label or f"{method} {_where(url)}"
        try:
            response = await self.request(method, url, timeout_s=timeout_s, **kwargs)
        except OutboundError:
            raise
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise OutboundTimeout(f"{where} timed out after {timeout_s:g}s") from exc
        except httpx.TooManyRedirects as exc:
            raise OutboundError(f"{where}: too many redirects") from exc
        except httpx.InvalidURL as exc:
            raise InvalidURL(f"invalid url: {exc}") from exc
        except httpx.LocalProtocolError as exc:  # our request is malformed (a header with a line break)
            raise OutboundError(f"{where}: invalid request: {redact(str(exc))}") from exc
        except httpx.TransportError as exc:  # refused, reset, remote protocol errors
            raise OutboundUnavailable(f"{where}: cannot reach the server: {type(exc).__name__}: {redact(str(exc))}") from exc
        status = response.status_code
        if status >= 400:
            snippet = clip(response.text, 300).strip()
            retryable, retry_after = classify_status(status, response.headers)
            raise HTTPStatusFailure(
                f"{where} answered {status}" + (f": {snippet}" if snippet else ""),
                status=status, retryable=retryable, retry_after=retry_after,
            )
        return response

    async def aclose(self) -> None:
        """Close the pooled clients (at shutdown)."""
        entries = list(self._pools.values())
        self._pools.clear()
        for entry in entries:
            await entry.transport.aclose()  # the shared pool; the clients hold nothing else
