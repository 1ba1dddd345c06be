"""Slack incoming webhook: post a message (``text``, optional ``channel``)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct

from pilot.settings import Settings
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.http import post_json
from pilot.tools.webhook import HttpUrl


class SlackArguments(Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=40_000)]
    channel: Annotated[str, Meta(max_length=200)] | None = None  # "" = the webhook's default channel
    username: Annotated[str, Meta(max_length=80)] | None = None
    icon_emoji: Annotated[str, Meta(max_length=80)] | None = None
    webhook_url: HttpUrl | None = None


class SlackTool:
    name: ClassVar[str] = "slack"
    description: ClassVar[str] = (
        "Post a message to Slack through an incoming webhook (webhook_url argument or SLACK_WEBHOOK_URL)."
    )
    arguments: ClassVar[type[Struct]] = SlackArguments

    def configured(self, settings: Settings) -> bool:
        return bool(settings.tools.slack_webhook_url)

    async def call(self, args: SlackArguments, ctx: ToolContext) -> dict[str, Any]:
        url = args.webhook_url or ctx.settings.tools.slack_webhook_url
        if not url:
            raise ToolError("slack tool not configured: set SLACK_WEBHOOK_URL or pass the webhook_url argument")
        payload: dict[str, Any] = {"text": args.text}
        for key in ("channel", "username", "icon_emoji"):
            if value := getattr(args, key):
                payload[key] = value
        response = await post_json(ctx, url, payload, what="slack")
        # Slack answers 200 "ok"; the webhook URL itself is never echoed (it is the secret).
        return {"ok": True, "status": response.status_code, "channel": args.channel or None}
