"""A tiny raw-ASGI HTTP server for outbound-request tests (api node, webhook/Slack tools, guard).

Routes (all on the same app):
- ``/echo``: JSON of the request (method, path, query, headers, body as text, json if parseable)
- ``/json``: ``{"ok": true, "items": [1, 2, 3]}``; ``/text``: plain text
- ``/status/<code>``: that status; ``?retry_after=N`` adds a Retry-After header
- ``/redirect?to=<url>``: 302 to ``to``
- ``/big?n=<bytes>``: a body of n bytes, streamed in 64 KiB chunks without Content-Length
- ``/slow?s=<seconds>``: answers after sleeping
- ``/reply?body=<json>``: 200 with that JSON body (e.g. a chat bot's ``{"errcode": 310000, ...}``)
Every request is appended to ``app.received`` (method, path, headers, body) so tests can assert
what a tool actually sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from tests.support.servers import serve_in_thread


class EchoApp:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        path = scope["path"]
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        self.received.append({"method": scope["method"], "path": path, "query": query, "headers": headers,
                              "body": text, "json": parsed})

        async def respond(status: int, payload: bytes, content_type: str = "application/json", extra=()):
            hdrs = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode()), *extra]
            await send({"type": "http.response.start", "status": status, "headers": hdrs})
            await send({"type": "http.response.body", "body": payload})

        if path == "/echo":
            doc = {"method": scope["method"], "path": path, "query": query, "headers": headers, "body": text, "json": parsed}
            await respond(200, json.dumps(doc).encode())
        elif path == "/json":
            await respond(200, b'{"ok": true, "items": [1, 2, 3]}', extra=[(b"set-cookie", b"secret=1")])
        elif path == "/reply":
            await respond(200, query.get("body", "{}").encode())
        elif path == "/text":
            await respond(200, "hello 你好".encode(), "text/plain; charset=utf-8")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            extra = [(b"retry-after", query["retry_after"].encode())] if "retry_after" in query else []
            await respond(code, json.dumps({"error": f"status {code}"}).encode(), extra=extra)
        elif path == "/redirect":
            await respond(302, b"", extra=[(b"location", query["to"].encode())])
        elif path == "/big":
            n = int(query.get("n", "0"))
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            sent = 0
            while sent < n:
                chunk = min(65536, n - sent)
                sent += chunk
                await send({"type": "http.response.body", "body": b"x" * chunk, "more_body": sent < n})
        elif path == "/slow":
            # Stop as soon as the client goes away, so server shutdown never waits for us.
            disconnected = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({disconnected}, timeout=float(query.get("s", "1")))
            if done:
                return
            disconnected.cancel()
            await respond(200, b'{"slow": true}')
        else:
            await respond(404, b'{"error": "no such route"}')


@contextmanager
def echo_server() -> Iterator[tuple[str, EchoApp]]:
    """Serve a fresh :class:`EchoApp` on a loopback port; yields (base_url, app)."""
    app = EchoApp()
    with serve_in_thread(app, lifespan="off") as url:
        yield url, app
