"""HTTP-status → ToolError mapping shared by the HTTP-based connectors."""

from __future__ import annotations

from typing import Any

import httpx

from pilot.engine.net import OutboundError, retry_after_seconds
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
    try:
        response = await ctx.http.request(method, url, json=payload, headers=headers or {}, timeout_s=ctx.timeout_s)
    except OutboundError as exc:
        raise ToolError(f"{what}: {exc}") from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise ToolError(f"{what}: request to {host} timed out after {ctx.timeout_s:g}s", retryable=True) from exc
    except httpx.TooManyRedirects as exc:
        raise ToolError(f"{what}: too many redirects from {host}") from exc
    except httpx.LocalProtocolError as exc:  # e.g. a header value with a line break
        raise ToolError(f"{what}: invalid request: {exc}") from exc
    except httpx.TransportError as exc:
        raise ToolError(f"{what}: cannot reach {host}: {type(exc).__name__}", retryable=True) from exc
    status = response.status_code
    if status == 429 or status >= 500:
        raise ToolError(
            f"{what}: {host} answered {status}", retryable=True, retry_after=retry_after_seconds(response.headers)
        )
    if status >= 400:
        detail = response.text[:200].strip()
        raise ToolError(f"{what}: {host} rejected the request with {status}" + (f": {detail}" if detail else ""))
    return response
