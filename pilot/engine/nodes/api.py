"""The ``api`` node: one HTTP request through the outbound guard.

``url``, ``headers``, ``query`` and ``body`` are jinja2 templates rendered in the sandbox. A body
that renders to valid JSON is sent as ``application/json`` unless a Content-Type is given.
Output: ``{status, headers, body}`` with a safe subset of response headers (no cookies) and the
body parsed when the response is JSON, else text.

Errors are classified once, by the outbound client (:meth:`pilot.outbound.GuardedHttp.call`,
the one HTTP classifier): 408/425/429/5xx, timeouts and connection errors → retryable (with the
server's ``Retry-After``); other 4xx, a refused destination or an oversized response → not.
Error text quoted from the response is redacted (:mod:`pilot.core.redaction`) before it is cut.

Side effects: every method other than GET/HEAD/OPTIONS sends an ``Idempotency-Key`` header
(unless the node sets one itself), the same for every retry and every resumed attempt of this
node in this execution (and loop item): see :mod:`pilot.engine.idempotency`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pilot.engine.errors import NodeError, NodeTimeout
from pilot.engine.idempotency import HEADER as IDEMPOTENCY_HEADER
from pilot.engine.idempotency import has_header, node_idempotency_key
from pilot.outbound import OutboundError, OutboundTimeout
from pilot.engine.nodes.rendering import render_field
from pilot.workflows.model import ApiConfig

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # no side effect: no idempotency key
SAFE_RESPONSE_HEADERS = frozenset(
    {
        "content-type", "content-length", "content-language", "etag", "last-modified", "location",
        "retry-after", "cache-control", "date", "link", "x-request-id", "x-ratelimit-limit",
        "x-ratelimit-remaining", "x-ratelimit-reset",
    }
)


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
    """Runs ``api`` nodes with ``ctx.services.http`` (a :class:`pilot.outbound.GuardedHttp`)."""

    node_type = "api"

    async def run(self, ctx) -> dict[str, Any]:
        config: ApiConfig = ctx.node.config
        scope = ctx.scope
        url = (await render_field(config.url, scope, "url")).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise NodeError(f"url must be an absolute http(s) URL, got {url[:100]!r}")
        headers = {k: (await render_field(v, scope, f"headers.{k}")).strip() for k, v in config.headers.items()}
        for name, value in headers.items():
            if "\r" in value or "\n" in value:  # header injection, e.g. from a rendered input
                raise NodeError(f"headers.{name}: the rendered value contains a line break")
        if config.method not in SAFE_METHODS and not has_header(headers):
            headers[IDEMPOTENCY_HEADER] = node_idempotency_key(ctx)
        params = {k: await render_field(v, scope, f"query.{k}") for k, v in config.query.items()}
        content: bytes | None = None
        if config.body is not None and config.method not in ("GET", "HEAD"):
            body = await render_field(config.body, scope, "body")
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
        if ctx.services.dry_run:  # a test run: the rendered request is the output, nothing is sent
            return {"status": None, "headers": {}, "body": None, "dry_run": True, "request": {
                "method": config.method, "url": url, "headers": headers,
                "body": content.decode("utf-8", "replace") if content is not None else None,
            }}
        try:
            response = await ctx.services.http.call(
                config.method, url, headers=headers, content=content, timeout_s=config.timeout_s,
            )
        except OutboundTimeout as exc:
            raise NodeTimeout(exc.message) from exc
        except OutboundError as exc:  # classified once, in pilot.outbound: retryable / retry_after
            raise NodeError(exc.message, retryable=exc.retryable, retry_after=exc.retry_after) from exc
        status = response.status_code
        return {
            "status": status,
            "headers": {k: v for k, v in response.headers.items() if k.lower() in SAFE_RESPONSE_HEADERS},
            "body": _decode_body(response, config.method),
        }
