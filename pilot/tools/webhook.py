"""Generic webhook: send a JSON payload to a URL (through the outbound guard)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from msgspec import Meta, Struct

from pilot.settings import Settings
from pilot.tools.base import ToolContext
from pilot.tools.http import post_json

HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^\s/]+", max_length=2048, description="absolute http(s) URL")]


class WebhookArguments(Struct, forbid_unknown_fields=True):
    url: HttpUrl
    payload: Any = None
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = {}


class WebhookTool:
    name: ClassVar[str] = "webhook"
    description: ClassVar[str] = "POST a JSON payload to any http(s) URL and return the response."
    arguments: ClassVar[type[Struct]] = WebhookArguments

    def configured(self, settings: Settings) -> bool:
        return True

    async def call(self, args: WebhookArguments, ctx: ToolContext) -> dict[str, Any]:
        response = await post_json(ctx, args.url, args.payload, method=args.method, headers=args.headers, what="webhook")
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return {"status": response.status_code, "body": body}
