"""``POST /api/tools/{id}/test``: one real, harmless call that shows whether a tool works.

- ``webhook`` / ``http``: ``HEAD`` on the tool's URL (with its credential header); any answer
  below 400 is ok, and so is ``405`` (the server is there but does not do HEAD).
- ``slack`` / ``feishu`` / ``dingtalk`` / ``wecom``: the bot ping — an *empty* message, which a
  bot refuses without posting anything. A refusal about the message (Slack's ``400 no_text``,
  DingTalk's "missing content") means the webhook and its token are valid; a refusal about the
  token or URL (``403 invalid_token``, ``404 no_service``, "token is not exist", "invalid
  webhook url") means they are not.
- ``email``: connect, ``EHLO``, ``STARTTLS`` (when enabled), ``LOGIN`` (when a user is set),
  ``NOOP``; nothing is sent.

The outbound guard applies to every probe. Failures are reported as ``ok: false`` with the
provider's own message, redacted: the credential never appears in the answer.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
import time
from typing import Any

import httpx
from msgspec import Struct

from pilot.core.redaction import clip, redact
from pilot.outbound import HTTPStatusFailure, OutboundError
from pilot.settings import ToolSettings
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.binding import BOT_CONNECTORS, HTTP_CONNECTORS, BoundTool

PROBE_TIMEOUT_S = 15.0
_TOKEN_TROUBLE = re.compile(r"token|access|no_service|invalid[ _]?(webhook|url|key)|not exist|channel_not_found|"
                            r"channel_is_archived|forbidden|unauthori[sz]ed|sign", re.IGNORECASE)
_BOT_CODES = {"slack": (None, None), "feishu": ("code", "msg"), "dingtalk": ("errcode", "errmsg"), "wecom": ("errcode", "errmsg")}


class ToolTestResult(Struct, frozen=True):
    """The outcome of a test call; ``detail`` is the provider's answer (redacted)."""

    ok: bool
    detail: str
    elapsed_ms: float
    tool: str
    connector: str


async def _head(bound: BoundTool, ctx: ToolContext) -> str:
    args = bound.arguments({})
    url = args.get("url")
    if not url:
        raise ToolError(f"{bound.connector} tool has no url: set it in 'defaults'")
    host = httpx.URL(url).host
    try:
        response = await ctx.http.call("HEAD", url, headers=args.get("headers") or {}, timeout_s=ctx.timeout_s,
                                       label=f"HEAD {host}", max_redirects=0)
    except HTTPStatusFailure as exc:
        if exc.status == 405:
            return f"HEAD {host} answered 405: the server is reachable (it does not support HEAD)"
        raise ToolError(exc.message) from exc
    except OutboundError as exc:
        raise ToolError(exc.message) from exc
    return f"HEAD {host} answered {response.status_code}"


def _bot_verdict(connector: str, status: int, body: Any, text: str) -> tuple[bool, str]:
    code_key, message_key = _BOT_CODES[connector]
    code = body.get(code_key) if isinstance(body, dict) and code_key else None
    message = str(body.get(message_key) or "") if isinstance(body, dict) and message_key else text
    said = clip(f"{status}" + (f" code {code}" if code not in (None, 0, "0") else "") + (f": {message}" if message else ""), 300)
    if status in (401, 403, 404, 410) or _TOKEN_TROUBLE.search(message or ""):
        return False, f"the bot webhook refused the ping: {said}"
    if status >= 500:
        return False, f"the bot webhook failed: {said}"
    return True, f"the bot webhook answered the empty ping with {said} (the token is valid; nothing was posted)"


async def _bot_ping(bound: BoundTool, ctx: ToolContext) -> tuple[bool, str]:
    args = bound.arguments({})
    url = args.get("webhook_url") or (bound.settings.tools.slack_webhook_url if bound.connector == "slack" else None)
    if not url:
        raise ToolError(f"{bound.connector} tool has no webhook URL: give it a credential (the bot's webhook URL)")
    host = httpx.URL(url).host
    try:  # request(), not call(): a 4xx is an answer to judge, not a failure
        response = await ctx.http.request("POST", url, json={}, timeout_s=ctx.timeout_s, max_redirects=0)
    except OutboundError as exc:
        raise ToolError(exc.message) from exc
    except (TimeoutError, httpx.HTTPError) as exc:
        raise ToolError(f"POST {host}: cannot reach the bot webhook: {type(exc).__name__}: {redact(str(exc))}") from exc
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return _bot_verdict(bound.connector, response.status_code, body, response.text)


def _smtp_noop(tools: ToolSettings, timeout: float) -> str:
    host, port = tools.smtp_host or "", tools.smtp_port
    context = ssl.create_default_context()
    client = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if port == 465
              else smtplib.SMTP(host, port, timeout=timeout))
    with client:
        client.ehlo()
        if tools.smtp_starttls and port != 465:
            client.starttls(context=context)
            client.ehlo()
        steps = "EHLO" + (", STARTTLS" if tools.smtp_starttls and port != 465 else "")
        if tools.smtp_user:
            client.login(tools.smtp_user, tools.smtp_password or "")
            steps += ", LOGIN"
        code, message = client.noop()
    if code != 250:
        raise smtplib.SMTPResponseException(code, message)
    return f"SMTP {host}:{port}: {steps}, NOOP answered {code}"


async def _smtp(bound: BoundTool, ctx: ToolContext) -> str:
    tools = bound.settings.tools
    if not tools.smtp_host:
        raise ToolError("email tool has no SMTP server: set config.smtp_host (or SMTP_HOST)")
    await bound.check_destination(ctx)
    try:
        return await asyncio.to_thread(_smtp_noop, tools, min(ctx.timeout_s, tools.smtp_timeout_s))
    except smtplib.SMTPAuthenticationError as exc:
        raise ToolError(f"SMTP authentication failed ({exc.smtp_code}): {_smtp_text(exc.smtp_error)}") from exc
    except smtplib.SMTPResponseException as exc:
        raise ToolError(f"SMTP server answered {exc.smtp_code}: {_smtp_text(exc.smtp_error)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ToolError(f"cannot talk to {tools.smtp_host}:{tools.smtp_port}: {type(exc).__name__}: {exc}") from exc


def _smtp_text(value: bytes | str) -> str:
    return clip(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value), 200)


async def probe_tool(bound: BoundTool, base: ToolContext) -> ToolTestResult:
    """Run the connector's probe; never raises for a failing provider (``ok: false``)."""
    ctx = bound.context(ToolContext(settings=base.settings, http=base.http, timeout_s=min(base.timeout_s, PROBE_TIMEOUT_S),
                                    workspace_id=base.workspace_id, sessions=base.sessions))
    started = time.monotonic()
    ok = True
    try:
        if bound.connector in HTTP_CONNECTORS:
            detail = await _head(bound, ctx)
        elif bound.connector in BOT_CONNECTORS:
            ok, detail = await _bot_ping(bound, ctx)
        elif bound.connector == "email":
            detail = await _smtp(bound, ctx)
        else:
            ok, detail = False, f"connector {bound.connector!r} has no test call"
    except ToolError as exc:
        ok, detail = False, exc.message
    except Exception as exc:  # noqa: BLE001 - reported, never a 500 with a provider's text in it
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.monotonic() - started) * 1000, 3)
    return ToolTestResult(ok=ok, detail=clip(detail, 500), elapsed_ms=elapsed_ms, tool=bound.name, connector=bound.connector)
