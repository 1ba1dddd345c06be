"""The ``api`` node: one HTTP request through the outbound guard.

``url``, ``headers``, ``query`` and ``body`` are jinja2 templates rendered in the sandbox. A body
that renders to valid JSON is sent as ``application/json`` unless a Content-Type is given.
Output: ``{status, headers, body}`` with a safe subset of response headers (no cookies) and the
body parsed when the response is JSON, else text.

Errors: 4xx → non-retryable (the request is wrong), 408/429/5xx, timeouts and connection
errors → retryable (429/503 pass ``Retry-After`` on to the retry policy); a refused destination
or an oversized response → non-retryable.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pilot.engine.errors import NodeError, NodeTimeout
from pilot.engine.net import OutboundError, retry_after_seconds
from pilot.engine.nodes.rendering import render_field
from pilot.workflows.model import ApiConfig

SAFE_RESPONSE_HEADERS = frozenset(
    {
        "content-type", "content-length", "content-language", "etag", "last-modified", "location",
        "retry-after", "cache-control", "date", "link", "x-request-id", "x-ratelimit-limit",
        "x-ratelimit-remaining", "x-ratelimit-reset",
    }
)


def _where(url: str) -> str:
    """Host and path only: query strings often carry API keys, which must not reach events/logs."""
    u = httpx.URL(url)
    return f"{u.scheme}://{u.netloc.decode()}{u.path}"


def _decode_body(response: httpx.Response, method: str) -> Any:
    if method == "HEAD" or not response.content:
        return None
    if "json" in response.headers.get("content-type", "").lower():
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


class ApiRunner:
    """Runs ``api`` nodes with ``ctx.services.http`` (a :class:`pilot.engine.net.GuardedHttp`)."""

    node_type = "api"

    async def run(self, ctx) -> dict[str, Any]:
        config: ApiConfig = ctx.node.config
        scope = ctx.scope
        url = render_field(config.url, scope, "url").strip()
        if not url.lower().startswith(("http://", "https://")):
            raise NodeError(f"url must be an absolute http(s) URL, got {url[:100]!r}")
        headers = {k: render_field(v, scope, f"headers.{k}").strip() for k, v in config.headers.items()}
        for name, value in headers.items():
            if "\r" in value or "\n" in value:  # header injection, e.g. from a rendered input
                raise NodeError(f"headers.{name}: the rendered value contains a line break")
        params = {k: render_field(v, scope, f"query.{k}") for k, v in config.query.items()}
        content: bytes | None = None
        if config.body is not None and config.method not in ("GET", "HEAD"):
            body = render_field(config.body, scope, "body")
            content = body.encode()
            if not any(k.lower() == "content-type" for k in headers):
                try:
                    json.loads(body)
                    headers["Content-Type"] = "application/json"
                except ValueError:
                    headers["Content-Type"] = "text/plain; charset=utf-8"
        if params:  # merged into the URL's own query (httpx would replace it)
            try:
                url = str(httpx.URL(url).copy_merge_params(params))
            except httpx.InvalidURL as exc:
                raise NodeError(f"invalid url: {exc}") from exc
        where = _where(url)
        try:
            response = await ctx.services.http.request(
                config.method, url, headers=headers, content=content,
                timeout_s=config.timeout_s,
            )
        except OutboundError as exc:
            raise NodeError(str(exc)) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise NodeTimeout(f"{config.method} {where} timed out after {config.timeout_s:g}s") from exc
        except httpx.TooManyRedirects as exc:
            raise NodeError(f"{config.method} {where}: too many redirects") from exc
        except httpx.InvalidURL as exc:
            raise NodeError(f"invalid url: {exc}") from exc
        except httpx.LocalProtocolError as exc:  # our request is malformed: retrying cannot help
            raise NodeError(f"{config.method} {where}: invalid request: {exc}") from exc
        except httpx.TransportError as exc:  # connection refused/reset, remote protocol errors
            raise NodeError(f"{config.method} {where} failed: {type(exc).__name__}: {exc}", retryable=True) from exc
        status = response.status_code
        if status >= 400:
            snippet = response.text[:300].strip()
            message = f"{config.method} {where} answered {status}" + (f": {snippet}" if snippet else "")
            retryable = status in (408, 425, 429) or status >= 500
            raise NodeError(message, retryable=retryable, retry_after=retry_after_seconds(response.headers) if retryable else None)
        return {
            "status": status,
            "headers": {k: v for k, v in response.headers.items() if k.lower() in SAFE_RESPONSE_HEADERS},
            "body": _decode_body(response, config.method),
        }
