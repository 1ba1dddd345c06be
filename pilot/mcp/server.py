"""πlot as an MCP server: the workspace's published workflows as MCP tools at ``/mcp``.

Transport: streamable HTTP (the SDK's ``StreamableHTTPSessionManager``, stateless, JSON
responses), mounted into the Litestar app, so every API process serves it with no session state
to share. Authentication: the app's guard, exactly as for ``/api/*`` (``Authorization: Bearer <API key or
access token>`` or ``X-API-Key``; role ``member`` or ``admin``); missing or wrong credentials
answer 401 before the MCP layer sees the request. Tenancy: a key lists and calls only its own
workspace's workflows. The tools themselves:
:mod:`pilot.mcp.workflow_tools`.

This module stays free of the SDK: the session manager (and the SDK, ~0.25 s to import) starts
with the first authenticated ``/mcp`` request and runs until the app stops, so a server that
nobody asks for MCP answers sooner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, asgi
from litestar.types import Receive, Scope, Send

from pilot.auth.guard import PRINCIPAL_SCOPE_KEY
from pilot.auth.roles import MEMBER_ONLY

log = logging.getLogger("pilot.mcp")

MCP_PATH = "/mcp"
SCOPE_KEY = "pilot.mcp"  # (runtime, workspace) of an authenticated request, for the tool handlers


class LazySessionManager:
    """The SDK's session manager, started by the first request that needs it (concurrent first
    requests share one start) and run in its own task until :meth:`aclose`."""

    def __init__(self, max_body_bytes: int) -> None:
        self._max_body_bytes = max_body_bytes
        self._ready: asyncio.Future | None = None
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()

    async def get(self) -> Any:
        """The running manager (started now if it is not yet)."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run(self._ready), name="mcp-session-manager")
        # shield: a request cancelled while waiting (client gone) must not cancel the shared start
        return await asyncio.shield(self._ready)

    async def _run(self, ready: asyncio.Future) -> None:
        try:
            from pilot.mcp.workflow_tools import session_manager

            manager = session_manager(self._max_body_bytes)
            async with manager.run():  # the task group stateless requests run in
                ready.set_result(manager)
                await self._stop.wait()
        except Exception as exc:  # noqa: BLE001 - the waiting requests fail; the next one starts it again
            log.exception("the MCP session manager failed")
            if not ready.done():
                ready.set_exception(exc)
                ready.exception()  # marked as retrieved: the waiting requests re-raise it
        finally:
            if not ready.done():
                ready.cancel()
            if self._ready is ready:
                self._ready = None

    async def aclose(self) -> None:
        """Stop the manager (in-flight MCP requests are cancelled, as at any shutdown)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def mcp_lifespan(max_body_bytes: int):
    """A Litestar lifespan hook: the session manager (started on first use) lives as long as the app."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        manager = LazySessionManager(max_body_bytes)
        app.state.mcp_manager = manager
        try:
            yield
        finally:
            await manager.aclose()

    return lifespan


@asgi(MCP_PATH, is_mount=True, copy_scope=True, opt=MEMBER_ONLY)  # its calls run workflows: members and admins
async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The MCP endpoint (streamable HTTP), authenticated by the app's guard (API key or access token)."""
    app = scope["app"]
    runtime = app.state.runtime
    workspace = scope[PRINCIPAL_SCOPE_KEY].workspace  # type: ignore[typeddict-item]  # set by pilot.auth.guard
    scope[SCOPE_KEY] = (runtime, workspace)  # type: ignore[literal-required]
    manager = await app.state.mcp_manager.get()
    await manager.handle_request(scope, receive, send)
