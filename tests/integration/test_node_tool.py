"""The ``tool`` node: arguments resolved in the sandbox (native values kept), validated per tool,
errors mapped to retryable / non-retryable NodeErrors; webhook/Slack over a loopback receiver,
email over a local SMTP server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pilot.engine.errors import NodeError
from pilot.engine.nodes.tool import ToolRunner
from pilot.settings import Settings
from tests.support.echo_server import echo_server
from tests.support.node_ctx import make_ctx, services
from tests.support.smtp_server import smtp_server

RUN = ToolRunner()


@pytest.fixture(scope="module")
def receiver():
    with echo_server() as (url, app):
        yield url, app


def _ctx(config: dict, scope: dict | None = None, **env: str):
    return make_ctx({"type": "tool", "config": config, "timeout_s": 5}, services(Settings.from_env(env)), scope=scope)


SCOPE = {"inputs": {"channel": "#ops"}, "nodes": {"classify": {"output": {"category": "bug", "confidence": 0.91}},
                                                 "digest": {"output": "3 stories"}}}


async def test_webhook_with_native_values(receiver) -> None:
    url, app = receiver
    ctx = _ctx({"tool": "webhook", "arguments": {"url": f"{url}/echo", "payload": {
        "classification": "{{ nodes.classify.output }}", "confidence": "{{ nodes.classify.output.confidence }}",
        "note": "Category: {{ nodes.classify.output.category }}", "static": [1, "two"]}}},
        SCOPE, PILOT_HTTP_ALLOWLIST=urlsplit(url).netloc)
    out = await RUN.run(ctx)
    assert out["status"] == 200
    assert app.received[-1]["json"] == {"classification": {"category": "bug", "confidence": 0.91}, "confidence": 0.91,
                                        "note": "Category: bug", "static": [1, "two"]}


async def test_slack_message(receiver) -> None:
    url, app = receiver
    ctx = _ctx({"tool": "slack", "arguments": {"text": "Digest: {{ nodes.digest.output }}", "channel": "{{ inputs.channel }}"}},
               SCOPE, PILOT_HTTP_ALLOWLIST=urlsplit(url).netloc, SLACK_WEBHOOK_URL=f"{url}/echo")
    assert (await RUN.run(ctx))["ok"] is True
    assert app.received[-1]["json"] == {"text": "Digest: 3 stories", "channel": "#ops"}


async def test_slack_webhook_on_private_network_is_refused(receiver) -> None:
    url, _ = receiver
    with pytest.raises(NodeError, match="refused") as info:
        await RUN.run(_ctx({"tool": "slack", "arguments": {"text": "x"}}, SLACK_WEBHOOK_URL=f"{url}/echo"))
    assert not info.value.retryable


async def test_email_delivery() -> None:
    with smtp_server() as smtp:
        ctx = _ctx({"tool": "email", "arguments": {"to": ["a@example.com"], "subject": "Report: {{ nodes.digest.output }}",
                                                    "body": "{{ nodes.digest.output }}"}},
                   SCOPE, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.server_address[1]), SMTP_STARTTLS="false")
        out = await RUN.run(ctx)
    assert out["sent"] and smtp.messages[-1]["message"]["Subject"] == "Report: 3 stories"


async def test_email_not_configured() -> None:
    with pytest.raises(NodeError, match="email tool not configured: set SMTP_HOST") as info:
        await RUN.run(_ctx({"tool": "email", "arguments": {"to": "a@example.com", "subject": "s", "body": "b"}}))
    assert not info.value.retryable


async def test_bad_argument_names_the_field() -> None:
    with pytest.raises(NodeError, match=r"invalid argument 'to\[0\]' for tool 'email'") as info:
        await RUN.run(_ctx({"tool": "email", "arguments": {"to": "{{ inputs.channel }}", "subject": "s", "body": "b"}}, SCOPE))
    assert not info.value.retryable


async def test_unknown_tool() -> None:
    with pytest.raises(NodeError, match="unknown tool 'fax'; available tools: dingtalk, email, feishu, http, mcp, slack, table, webhook, wecom") as info:
        await RUN.run(_ctx({"tool": "fax"}))
    assert not info.value.retryable


async def test_retryable_receiver_failure(receiver) -> None:
    url, _ = receiver
    with pytest.raises(NodeError, match="answered 503") as info:
        await RUN.run(_ctx({"tool": "webhook", "arguments": {"url": f"{url}/status/503?retry_after=4"}},
                           PILOT_HTTP_ALLOWLIST=urlsplit(url).netloc))
    assert info.value.retryable and info.value.retry_after == 4


async def test_sandbox_escape_in_arguments() -> None:
    with pytest.raises(NodeError, match=r"arguments\.payload\.x: .*sandbox"):
        await RUN.run(_ctx({"tool": "webhook", "arguments": {"url": "http://example.com",
                                                             "payload": {"x": "{{ ().__class__.__mro__ }}"}}}))
