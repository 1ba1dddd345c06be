"""HTTP-status → ToolError mapping shared by the HTTP-based connectors.

Every request carries the call's ``Idempotency-Key`` (``ToolContext.idempotency_key``) unless the
caller set one: receivers that deduplicate on it (payment and ticketing APIs, most webhook relays)
perform the side effect once across retries and resumed runs; the chat-bot webhooks ignore it
(README "Delivery guarantees").
"""

from __future__ import annotations

from typing import Any

import httpx

from pilot.engine.idempotency import HEADER as IDEMPOTENCY_HEADER
from pilot.engine.idempotency import has_header
from pilot.outbound import OutboundError
from pilot.tools.base import ToolError


async def post_json(
    ctx, url: str, payload: Any, *, method: str = "POST", headers: dict[str, str] | None = None, what: str
) -> httpx.Response:
    """Send JSON through the outbound guard; map failures to retryable/non-retryable ToolErrors.

    Error messages name the host only: webhook URLs often embed secrets in their path.
    """
    host = httpx.URL(url).host if url.startswith(("http://", "https://")) else None
    if not host:
        raise ToolError(f"{what}: url must be an absolute http(s) URL")
    headers = dict(headers or {})
    key = getattr(ctx, "idempotency_key", None)
    if key and not has_header(headers):
        headers[IDEMPOTENCY_HEADER] = key
    try:
        return await ctx.http.call(method, url, json=payload, headers=headers, timeout_s=ctx.timeout_s, label=host)
    except OutboundError as exc:  # classified once, in pilot.outbound: retryable / retry_after
        raise ToolError(f"{what}: {exc.message}", retryable=exc.retryable, retry_after=exc.retry_after) from exc

