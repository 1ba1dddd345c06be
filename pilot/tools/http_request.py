"""Generic HTTP request: call any http(s) API (GET/POST/…) and return its status and body.

The building block of API tools for agents (a search endpoint, a currency-conversion API): a
configured tool instance pins ``url`` (and usually ``method``) and attaches the credential as a
header, the model fills ``query`` / ``body``. Every request goes through the outbound guard.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import httpx
from msgspec import Struct

from pilot.core.redaction import clip
from pilot.outbound import OutboundError
from pilot.settings import Settings
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.webhook import HttpUrl

MAX_TEXT_BODY = 20_000  # characters of a non-JSON body kept in the result


class HttpRequestArguments(Struct, forbid_unknown_fields=True):
    url: HttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body: Any = None  # sent as JSON when not null


class HttpRequestTool:
    name: ClassVar[str] = "http"
    description: ClassVar[str] = "Send an HTTP request (GET by default) to an http(s) URL and return the status and body."
    arguments: ClassVar[type[Struct]] = HttpRequestArguments

    def configured(self, settings: Settings) -> bool:
        return True

    async def call(self, args: HttpRequestArguments, ctx: ToolContext) -> dict[str, Any]:
        host = httpx.URL(args.url).host
        params = {k: v if isinstance(v, str) else str(v) for k, v in args.query.items() if v is not None}
        url = str(httpx.URL(args.url).copy_merge_params(params)) if params else args.url  # keeps the URL's own query
        kwargs: dict[str, Any] = {"headers": dict(args.headers)}
        if args.body is not None and args.method not in ("GET", "HEAD"):
            kwargs["json"] = args.body
        try:
            response = await ctx.http.call(args.method, url, timeout_s=ctx.timeout_s, label=f"{args.method} {host}", **kwargs)
        except OutboundError as exc:
            raise ToolError(f"http: {exc.message}", retryable=exc.retryable, retry_after=exc.retry_after) from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = clip(response.text, MAX_TEXT_BODY)
        return {"status": response.status_code, "body": body}
