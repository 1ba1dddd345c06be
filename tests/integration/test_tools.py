"""Tool connectors over real sockets: webhook and Slack against a loopback receiver (allow-listed
in the test's settings), email against a local SMTP server; argument validation; error classes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec
import pytest

from pilot.outbound import GuardedHttp
from pilot.settings import Settings
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.registry import UnknownTool, default_registry
from tests.support.echo_server import echo_server
from tests.support.smtp_server import smtp_server


@pytest.fixture(scope="module")
def receiver():
    with echo_server() as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as server:
        yield server


def _ctx(allow: str | None = None, **env: str) -> ToolContext:
    values = {"PILOT_HTTP_ALLOWLIST": allow or "", **env}
    settings = Settings.from_env(values)
    return ToolContext(settings=settings, http=GuardedHttp(settings.engine), timeout_s=5)


REG = default_registry()


async def test_webhook_posts_json_and_returns_response(receiver) -> None:
    url, app = receiver
    out = await REG.invoke("webhook", {"url": f"{url}/echo", "payload": {"a": 1, "名": "值"}}, _ctx(urlsplit(url).netloc))
    assert out["status"] == 200 and out["body"]["json"] == {"a": 1, "名": "值"}
    assert app.received[-1]["headers"]["content-type"] == "application/json"


async def test_webhook_to_loopback_is_refused_without_allowlist(receiver) -> None:
    url, app = receiver
    before = len(app.received)
    with pytest.raises(ToolError, match="refused: a loopback address") as info:
        await REG.invoke("webhook", {"url": f"{url}/echo", "payload": {}}, _ctx())
    assert not info.value.retryable and len(app.received) == before


async def test_webhook_status_classes(receiver) -> None:
    url, _ = receiver
    ctx = _ctx(urlsplit(url).netloc)
    with pytest.raises(ToolError, match="answered 404") as info:
        await REG.invoke("webhook", {"url": f"{url}/status/404"}, ctx)
    assert not info.value.retryable
    with pytest.raises(ToolError, match="answered 503") as info:
        await REG.invoke("webhook", {"url": f"{url}/status/503"}, ctx)
    assert info.value.retryable
    with pytest.raises(ToolError, match="answered 429") as info:
        await REG.invoke("webhook", {"url": f"{url}/status/429?retry_after=7"}, ctx)
    assert info.value.retryable and info.value.retry_after == 7


async def test_webhook_header_injection_is_not_retried(receiver) -> None:
    url, _ = receiver
    with pytest.raises(ToolError, match="invalid request") as info:
        await REG.invoke("webhook", {"url": f"{url}/echo", "headers": {"X-A": "a\r\nX-B: b"}}, _ctx(urlsplit(url).netloc))
    assert not info.value.retryable


async def test_webhook_connection_refused_is_retryable() -> None:
    with pytest.raises(ToolError, match="cannot reach") as info:
        await REG.invoke("webhook", {"url": "http://127.0.0.1:9/x"}, _ctx("127.0.0.1:9"))
    assert info.value.retryable


async def test_slack_posts_text_and_channel(receiver) -> None:
    url, app = receiver
    out = await REG.invoke("slack", {"text": "Daily digest ready", "channel": "#news", "webhook_url": f"{url}/echo"},
                           _ctx(urlsplit(url).netloc))
    assert out == {"ok": True, "status": 200, "channel": "#news"}
    assert app.received[-1]["json"] == {"text": "Daily digest ready", "channel": "#news"}


async def test_slack_uses_configured_url(receiver) -> None:
    url, app = receiver
    ctx = _ctx(urlsplit(url).netloc, SLACK_WEBHOOK_URL=f"{url}/echo")
    await REG.invoke("slack", {"text": "from settings"}, ctx)
    assert app.received[-1]["json"] == {"text": "from settings"}
    assert "***" in repr(ctx.settings.tools) and "/echo" not in repr(ctx.settings.tools)


async def test_slack_not_configured() -> None:
    with pytest.raises(ToolError, match="slack tool not configured: set SLACK_WEBHOOK_URL"):
        await REG.invoke("slack", {"text": "hi"}, _ctx())


@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("slack", {"text": ""}, "text"),
        ("slack", {"text": "x", "webhook_url": "not a url"}, "webhook_url"),
        ("webhook", {"url": "file:///etc/passwd"}, "url"),
        ("feishu", {"webhook_url": "not a url", "text": "x"}, "webhook_url"),
        ("dingtalk", {"webhook_url": "https://oapi.dingtalk.com/robot/send", "text": ""}, "text"),
        ("wecom", {"webhook_url": "ftp://x", "text": "x"}, "webhook_url"),
        ("email", {"to": "not-an-address", "subject": "s", "body": "b"}, "to[0]"),
        ("email", {"to": "a@example.com", "subject": "x\r\nBcc: victim@example.com", "body": "b"}, "subject"),
        ("email", {"to": ["a@example.com"], "subject": "s", "body": "b", "cc": ["bad"]}, "cc[0]"),
    ],
)
async def test_bad_arguments_name_the_field(tool: str, args: dict, field: str) -> None:
    with pytest.raises(ToolError, match=f"invalid argument '{re.escape(field)}' for tool '{tool}'") as info:
        REG.validate(tool, args)
    assert not info.value.retryable


async def test_missing_argument_is_named() -> None:
    with pytest.raises(ToolError, match="missing required field `text`"):
        REG.validate("slack", {})


async def test_unknown_tool() -> None:
    with pytest.raises(UnknownTool, match="unknown tool 'fax'; available tools: dingtalk, email, feishu, http, mcp, slack, table, webhook, wecom"):
        REG.get("fax")


async def test_email_not_configured() -> None:
    with pytest.raises(ToolError, match="email tool not configured: set SMTP_HOST") as info:
        await REG.invoke("email", {"to": "a@example.com", "subject": "s", "body": "b"}, _ctx())
    assert not info.value.retryable


def _smtp_env(server) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.server_address[1]), "SMTP_STARTTLS": "false",
            "SMTP_FROM": "pilot@example.com"}


async def test_email_is_delivered(smtp) -> None:
    out = await REG.invoke(
        "email",
        {"to": ["ops@example.com", "lead@example.com"], "cc": ["cc@example.com"], "subject": "日报 Daily report",
         "body": "All good.\n一切正常。", "html": "<p>All good.</p>"},
        _ctx(**_smtp_env(smtp)),
    )
    assert out["sent"] and out["refused"] == []
    msgspec.json.encode(out)  # the output is JSON-serialisable (it becomes a node output)
    assert out["recipients"] == ["ops@example.com", "lead@example.com", "cc@example.com"]
    got = smtp.messages[-1]
    assert got["from"] == "pilot@example.com" and got["to"] == out["recipients"]
    msg = got["message"]
    assert msg["Subject"] == "日报 Daily report" and msg["Message-ID"] == out["message_id"]
    assert "一切正常" in msg.get_body(("plain",)).get_content()
    assert "<p>All good.</p>" in msg.get_body(("html",)).get_content()


async def test_email_accepts_comma_separated_recipients(smtp) -> None:
    out = await REG.invoke("email", {"to": "a@example.com, b@example.com;c@example.com", "subject": "s", "body": "b"},
                           _ctx(**_smtp_env(smtp)))
    assert out["recipients"] == ["a@example.com", "b@example.com", "c@example.com"]
    assert smtp.messages[-1]["to"] == out["recipients"]
    with pytest.raises(ToolError, match=r"invalid argument 'to\[1\]'"):
        REG.validate("email", {"to": "a@example.com, nope", "subject": "s", "body": "b"})


async def test_slack_empty_channel_means_default(receiver) -> None:
    url, app = receiver
    await REG.invoke("slack", {"text": "hi", "channel": "", "webhook_url": f"{url}/echo"}, _ctx(urlsplit(url).netloc))
    assert app.received[-1]["json"] == {"text": "hi"}


async def test_email_permanent_and_temporary_rejections(smtp) -> None:
    smtp.reject["nobody@example.com"] = (550, "no such user")
    smtp.reject["busy@example.com"] = (451, "try again later")
    ctx = _ctx(**_smtp_env(smtp))
    with pytest.raises(ToolError, match="recipients refused: nobody@example.com") as info:
        await REG.invoke("email", {"to": "nobody@example.com", "subject": "s", "body": "b"}, ctx)
    assert not info.value.retryable
    with pytest.raises(ToolError, match="busy@example.com") as info:
        await REG.invoke("email", {"to": "busy@example.com", "subject": "s", "body": "b"}, ctx)
    assert info.value.retryable
    partial = await REG.invoke("email", {"to": ["ok@example.com", "nobody@example.com"], "subject": "s", "body": "b"}, ctx)
    assert partial["recipients"] == ["ok@example.com"] and partial["refused"] == ["nobody@example.com"]


async def test_email_server_down_is_retryable() -> None:
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9", "SMTP_STARTTLS": "false"}
    with pytest.raises(ToolError, match="cannot deliver via 127.0.0.1:9") as info:
        await REG.invoke("email", {"to": "a@example.com", "subject": "s", "body": "b"}, _ctx(**env))
    assert info.value.retryable


async def test_starttls_unsupported_is_a_clear_config_error(smtp) -> None:
    env = {**_smtp_env(smtp), "SMTP_STARTTLS": "true"}
    with pytest.raises(ToolError, match="SMTP_STARTTLS=false") as info:
        await REG.invoke("email", {"to": "a@example.com", "subject": "s", "body": "b"}, _ctx(**env))
    assert not info.value.retryable


def test_describe_lists_schemas() -> None:
    infos = {i.name: i for i in REG.describe(Settings.from_env({}))}
    assert set(infos) == {"webhook", "http", "slack", "email", "feishu", "dingtalk", "wecom", "mcp", "table"}
    assert not infos["email"].configured and infos["webhook"].configured
    assert "text" in infos["slack"].arguments_schema["$defs"]["SlackArguments"]["required"]


async def test_tools_listing_api(api) -> None:
    r = await api.get("/api/tools/connectors")  # GET /api/tools lists tool instances (+ these as "connectors")
    assert r.status_code == 200
    names = [t["name"] for t in r.json()["items"]]
    assert names == ["dingtalk", "email", "feishu", "http", "mcp", "slack", "table", "webhook", "wecom"]
    email = r.json()["items"][1]
    assert email["configured"] is False and "to" in email["arguments_schema"]["$defs"]["EmailArguments"]["properties"]


# --- Feishu / DingTalk / WeCom group bots -------------------------------------------------------

BOT_PAYLOADS = {
    "feishu": {"msg_type": "text", "content": {"text": "日报：3 条 AI 新闻"}},
    "dingtalk": {"msgtype": "text", "text": {"content": "日报：3 条 AI 新闻"}},
    "wecom": {"msgtype": "text", "text": {"content": "日报：3 条 AI 新闻"}},
}


@pytest.mark.parametrize("tool", sorted(BOT_PAYLOADS))
async def test_group_bot_sends_its_own_payload_shape(receiver, tool: str) -> None:
    url, app = receiver
    out = await REG.invoke(tool, {"webhook_url": f"{url}/echo?token=s3cret", "text": "日报：3 条 AI 新闻"},
                           _ctx(urlsplit(url).netloc))
    sent = app.received[-1]
    assert sent["method"] == "POST" and sent["path"] == "/echo"
    assert sent["json"] == BOT_PAYLOADS[tool]
    assert out == {"ok": True, "status": 200}
    assert "s3cret" not in str(out)


@pytest.mark.parametrize(
    ("tool", "reply", "message"),
    [
        ("feishu", {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"},
         "code 19021): sign match fail"),
        ("dingtalk", {"errcode": 310000, "errmsg": "keywords not in content"}, "code 310000): keywords not in content"),
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}, "code 93000): invalid webhook url"),
    ],
)
async def test_group_bot_error_code_fails_with_the_bots_message(receiver, tool: str, reply: dict, message: str) -> None:
    import json
    from urllib.parse import quote

    url, _ = receiver
    with pytest.raises(ToolError, match=re.escape(f"{tool}: the bot refused the message ({message}")) as info:
        await REG.invoke(tool, {"webhook_url": f"{url}/reply?body={quote(json.dumps(reply))}", "text": "hi"},
                         _ctx(urlsplit(url).netloc))
    assert not info.value.retryable


@pytest.mark.parametrize("tool", sorted(BOT_PAYLOADS))
async def test_group_bot_zero_code_is_success(receiver, tool: str) -> None:
    from urllib.parse import quote

    url, _ = receiver
    ok = '{"code": 0, "msg": "success"}' if tool == "feishu" else '{"errcode": 0, "errmsg": "ok"}'
    out = await REG.invoke(tool, {"webhook_url": f"{url}/reply?body={quote(ok)}", "text": "hi"}, _ctx(urlsplit(url).netloc))
    assert out["ok"] is True


@pytest.mark.parametrize("tool", sorted(BOT_PAYLOADS))
async def test_group_bot_missing_arguments_are_named(tool: str) -> None:
    with pytest.raises(ToolError, match="missing required field `webhook_url`"):
        REG.validate(tool, {"text": "hi"})
    with pytest.raises(ToolError, match="missing required field `text`"):
        REG.validate(tool, {"webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/x"})


async def test_group_bot_to_loopback_is_refused_without_allowlist(receiver) -> None:
    url, _ = receiver
    with pytest.raises(ToolError, match="feishu: "):
        await REG.invoke("feishu", {"webhook_url": f"{url}/echo", "text": "hi"}, _ctx())
