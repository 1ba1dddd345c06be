"""The MCP client: connect to a registered server, list its tools, call one (official ``mcp`` SDK).

Every HTTP connection (streamable HTTP and SSE) goes through the outbound guard: the SDK's httpx
client is built on :class:`pilot.outbound.GuardedTransport` with the process's access policy,
so a private or loopback server is refused unless ``PILOT_HTTP_ALLOW_PRIVATE`` /
``PILOT_HTTP_ALLOWLIST`` allow it, DNS answers are pinned and response sizes capped. ``stdio``
servers start a local process and are refused unless the operator set ``PILOT_MCP_STDIO``.

A session lives for one operation (connect, initialize, list or call, close) under one overall
deadline, so nothing is held between runs and a hung server costs at most ``timeout_s``.
Failures become :class:`McpFailure` (a ``ToolError``): unreachable servers and timeouts are
retryable, refusals, protocol errors and tool errors are not. Messages never carry the auth
header or the URL's query string.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from pilot.core.redaction import clip, redact
from pilot.outbound import DestinationBlocked, GuardedTransport, OutboundError, default_ssl_context
from pilot.outbound.addresses import AccessPolicy
from pilot.tools.base import ToolError

if TYPE_CHECKING:  # the SDK is imported when a session opens: importing it costs ~0.25 s of a cold start
    from mcp import ClientSession, types


class McpFailure(ToolError):
    """An MCP operation failed (``retryable`` when trying again may help)."""


@dataclass(frozen=True)
class ServerSpec:
    """What a connection needs. ``headers`` may hold the decrypted auth header: never log it."""

    name: str
    transport: str
    url: str | None
    timeout_s: float
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    command: str | None = None
    args: tuple[str, ...] = ()
    stdio_allowed: bool = False


@dataclass(frozen=True)
class Guard:
    """The outbound guard's policy and response cap (from ``GuardedHttp``)."""

    policy: AccessPolicy
    max_response_bytes: int

    @classmethod
    def of(cls, http: Any) -> Guard:
        return cls(policy=http.policy, max_response_bytes=http.max_response_bytes)


def _where(url: str | None) -> str:
    try:
        u = httpx.URL(url or "")
        return f"{u.scheme}://{u.netloc.decode()}{u.path}"
    except (httpx.InvalidURL, TypeError):
        return (url or "").split("?", 1)[0][:200]


def _client_factory(guard: Guard):
    def make(headers: dict[str, str] | None = None, timeout: httpx.Timeout | None = None, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
        transport = GuardedTransport(guard.policy, max_response_bytes=guard.max_response_bytes, ssl_context=default_ssl_context())
        return httpx.AsyncClient(transport=transport, headers=headers, timeout=timeout, auth=auth, trust_env=False)

    return make


@asynccontextmanager
async def open_session(spec: ServerSpec, guard: Guard) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    """An initialized client session (caller bounds the time: :func:`_bounded`)."""
    from mcp import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx.Timeout(spec.timeout_s)
    read_timeout = timedelta(seconds=spec.timeout_s)
    if spec.transport == "stdio":
        if not spec.stdio_allowed:
            raise McpFailure("stdio MCP servers are disabled on this server (the operator sets PILOT_MCP_STDIO=true)")
        params = StdioServerParameters(command=spec.command or "", args=list(spec.args))
        streams = stdio_client(params)
    elif spec.transport == "sse":
        streams = sse_client(spec.url or "", headers=spec.headers, timeout=spec.timeout_s, sse_read_timeout=spec.timeout_s,
                             httpx_client_factory=_client_factory(guard))
    else:
        streams = None
    if streams is None:
        async with _client_factory(guard)(headers=spec.headers, timeout=timeout) as http:
            async with streamable_http_client(spec.url or "", http_client=http) as (read, write, _):
                async with ClientSession(read, write, read_timeout_seconds=read_timeout) as session:
                    yield session, await session.initialize()
        return
    async with streams as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=read_timeout) as session:
            yield session, await session.initialize()


def _root(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups of the SDK's task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def failure(spec: ServerSpec, exc: BaseException) -> McpFailure:
    """``exc`` (from the SDK, httpx or the guard) as a user-facing failure naming the server."""
    from mcp import McpError  # loaded already: the session that failed imported the SDK

    exc = _root(exc)
    where = f"MCP server {spec.name!r}" + (f" ({_where(spec.url)})" if spec.url else "")
    if isinstance(exc, McpFailure):
        return exc
    if isinstance(exc, DestinationBlocked):
        return McpFailure(f"{where}: {exc.message}")
    if isinstance(exc, OutboundError):
        return McpFailure(f"{where}: {exc.message}", retryable=exc.retryable)
    if isinstance(exc, TimeoutError):
        return McpFailure(f"{where}: no answer within {spec.timeout_s:g}s", retryable=True)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        hint = " (check the server's credential)" if status in (401, 403) else ""
        return McpFailure(f"{where} answered HTTP {status}{hint}", retryable=status >= 500 or status == 429)
    if isinstance(exc, (httpx.TimeoutException,)):
        return McpFailure(f"{where}: timed out", retryable=True)
    if isinstance(exc, httpx.TransportError):
        return McpFailure(f"{where}: cannot reach the server: {type(exc).__name__}: {clip(redact(str(exc)), 200)}", retryable=True)
    if isinstance(exc, McpError):
        return McpFailure(f"{where}: {clip(redact(exc.error.message), 300)}")
    if isinstance(exc, (OSError, FileNotFoundError)) and spec.transport == "stdio":
        return McpFailure(f"{where}: cannot start {spec.command!r}: {exc}")
    return McpFailure(f"{where}: {type(exc).__name__}: {clip(redact(str(exc)), 300)}")


async def _bounded(spec: ServerSpec, guard: Guard, operation: Any) -> Any:
    """Run ``operation(session, init)`` in a fresh session within ``spec.timeout_s`` overall."""
    try:
        with anyio.fail_after(spec.timeout_s):
            async with open_session(spec, guard) as (session, init):
                return await operation(session, init)
    except McpFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - every SDK/transport error becomes a named failure
        raise failure(spec, exc) from None


async def list_tools(spec: ServerSpec, guard: Guard) -> tuple[types.InitializeResult, list[types.Tool]]:
    """Initialize and list every tool (following pagination)."""
    from mcp import types

    async def op(session: ClientSession, init: types.InitializeResult):
        tools: list[types.Tool] = []
        cursor = None
        for _ in range(50):
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        return init, tools

    return await _bounded(spec, guard, op)


def result_value(result: types.CallToolResult) -> dict[str, Any]:
    """A tool result as JSON: ``text`` (the text blocks joined), ``structured`` (the structured
    content, if any) and ``content`` (every block)."""
    from mcp import types

    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    return {
        "text": "\n".join(texts),
        "structured": result.structuredContent,
        "content": [block.model_dump(mode="json", exclude_none=True) for block in result.content],
    }


async def call_tool(spec: ServerSpec, guard: Guard, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call ``tool``; a result flagged ``isError`` raises :class:`McpFailure` with its text."""

    async def op(session: ClientSession, _init: types.InitializeResult):
        return await session.call_tool(tool, arguments)

    result: types.CallToolResult = await _bounded(spec, guard, op)
    value = result_value(result)
    if result.isError:
        raise McpFailure(f"MCP tool {tool!r} of server {spec.name!r} failed: {clip(redact(value['text']) or 'no details', 500)}")
    return value
