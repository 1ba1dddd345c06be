"""A tiny real MCP server (the SDK's FastMCP) for tests, run as its own process.

    python -m tests.support.mcp_server --port 8123 [--transport streamable-http|sse] [--token T]
    python -m tests.support.mcp_server --transport stdio

Tools: ``add(a, b)`` (structured int result), ``echo(text)``, ``fail(reason)`` (a tool error) and
``slow(seconds)``. With ``--token``, every request must carry ``Authorization: Bearer <token>``
(401 otherwise). :func:`mcp_server_process` starts it on a free port and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build():
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP("test-tools", host="127.0.0.1", log_level="WARNING")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return f"echo: {text}"

    @mcp.tool()
    def fail(reason: str) -> str:
        """Always fails with the reason."""
        raise ValueError(f"refusing: {reason}")

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "done"

    return mcp


def _guarded(app, token: str):
    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"").decode() != f"Bearer {token}":
                await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"bad token"})
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transport", default="streamable-http", choices=["streamable-http", "sse", "stdio"])
    parser.add_argument("--token")
    ns = parser.parse_args()
    mcp = build()
    if ns.transport == "stdio":
        mcp.run("stdio")
        return
    app = mcp.streamable_http_app() if ns.transport == "streamable-http" else mcp.sse_app()
    if ns.token:
        app = _guarded(app, ns.token)  # lifespan and other scopes pass through
    uvicorn.run(app, host="127.0.0.1", port=ns.port, log_level="warning", lifespan="on")


@contextmanager
def mcp_server_process(*, transport: str = "streamable-http", token: str | None = None) -> Iterator[str]:
    """Start the server process on a free port; yields its MCP endpoint URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "tests.support.mcp_server", "--port", str(port), "--transport", transport]
    if token:
        args += ["--token", token]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the MCP test server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}" + ("/mcp" if transport == "streamable-http" else "/sse")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
