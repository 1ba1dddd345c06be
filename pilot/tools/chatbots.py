"""Chinese group-bot webhooks: Feishu/Lark (飞书), DingTalk (钉钉) and WeCom (企业微信).

Each bot takes a plain text message in its own JSON shape and answers HTTP 200 even when it
refuses the message, with an error code in the body (Feishu ``code``/``msg``, DingTalk and WeCom
``errcode``/``errmsg``); a non-zero code is a non-retryable :class:`ToolError` carrying the
bot's own message (a bad token or keyword will not get better by retrying).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct

from pilot.core.redaction import clip
from pilot.settings import Settings
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.http import post_json
from pilot.tools.webhook import HttpUrl


class BotArguments(Struct, forbid_unknown_fields=True):
    webhook_url: HttpUrl
    text: Annotated[str, Meta(min_length=1, max_length=20_000)]


class _GroupBot:
    """Shared call: post ``payload(text)``, then read the bot's error code from the JSON answer."""

    name: ClassVar[str]
    description: ClassVar[str]
    arguments: ClassVar[type[Struct]] = BotArguments
    code_key: ClassVar[str]
    message_key: ClassVar[str]

    def configured(self, settings: Settings) -> bool:
        return True  # the webhook URL (and its token) is an argument

    def payload(self, text: str) -> dict[str, Any]:
        raise NotImplementedError

    async def call(self, args: BotArguments, ctx: ToolContext) -> dict[str, Any]:
        response = await post_json(ctx, args.webhook_url, self.payload(args.text), what=self.name)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        code = body.get(self.code_key, body.get("StatusCode", 0)) if isinstance(body, dict) else 0
        if code not in (0, None, "0"):
            message = body.get(self.message_key) or body.get("StatusMessage") or "no message"
            raise ToolError(f"{self.name}: the bot refused the message (code {code}): {clip(str(message), 200)}")
        # The webhook URL holds the bot's token: never echoed back.
        return {"ok": True, "status": response.status_code}


class FeishuTool(_GroupBot):
    name: ClassVar[str] = "feishu"
    description: ClassVar[str] = "Send a text message to a Feishu / Lark (飞书) group bot webhook."
    code_key: ClassVar[str] = "code"
    message_key: ClassVar[str] = "msg"

    def payload(self, text: str) -> dict[str, Any]:
        return {"msg_type": "text", "content": {"text": text}}


class DingTalkTool(_GroupBot):
    name: ClassVar[str] = "dingtalk"
    description: ClassVar[str] = "Send a text message to a DingTalk (钉钉) group robot webhook."
    code_key: ClassVar[str] = "errcode"
    message_key: ClassVar[str] = "errmsg"

    def payload(self, text: str) -> dict[str, Any]:
        return {"msgtype": "text", "text": {"content": text}}


class WeComTool(DingTalkTool):
    """WeCom's group bot speaks DingTalk's text-message protocol (payload and errcode/errmsg)."""

    name: ClassVar[str] = "wecom"
    description: ClassVar[str] = "Send a text message to a WeCom (企业微信) group bot webhook."
