"""飞书 / 钉钉 / 企业微信 destinations become their own group-bot tool nodes (``feishu``,
``dingtalk``, ``wecom``: ``webhook_url`` + ``text``), never a generic webhook with a JSON body
those bots reject; the URL is the request's own, else a required run input."""

from __future__ import annotations

import msgspec
import pytest

from pilot.generation.generator import WorkflowGenerator
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.templates.catalog import default_catalog
from pilot.tools.registry import default_registry
from pilot.workflows.model import node_type
from pilot.workflows.validation import validate_graph


@pytest.fixture(scope="module")
def pipeline():
    analyzer, generator = default_offline_analyzer(), WorkflowGenerator(default_catalog())

    def run(prompt: str):
        return generator.generate(analyzer.analyze(prompt), prompt)

    return run


def _bots(graph) -> list:
    return [n for n in graph.nodes if node_type(n) == "tool" and n.config.tool in ("feishu", "dingtalk", "wecom")]


@pytest.mark.parametrize(("prompt", "tool"), [
    ("每天早上总结Hacker News的热门文章，发到飞书群", "feishu"),
    ("Summarise this article and send it to our Lark group", "feishu"),
    ("把英文邮件翻译成中文后发到钉钉", "dingtalk"),
    ("Summarise the meeting notes and post them to DingTalk", "dingtalk"),
    ("总结这篇文章，然后通知企业微信群", "wecom"),
    ("Translate the text to English and send it to WeChat Work", "wecom"),
])  # fmt: skip
def test_destination_becomes_its_group_bot(pipeline, prompt, tool):
    graph = pipeline(prompt)
    assert validate_graph(graph).valid
    [bot] = _bots(graph)
    assert bot.config.tool == tool
    args = bot.config.arguments
    assert set(args) == {"webhook_url", "text"}
    assert args["webhook_url"] == f"{{{{ inputs.{tool}_webhook_url }}}}"
    assert args["text"].startswith("{{ nodes.") and args["text"].endswith(" }}")  # the upstream text
    start = next(n for n in graph.nodes if node_type(n) == "input")
    field = next(f for f in start.config.fields if f.name == f"{tool}_webhook_url")
    assert field.required
    assert not [n for n in graph.nodes if node_type(n) == "tool" and n.config.tool == "webhook"]
    # The arguments the generator writes are exactly what the connector accepts.
    default_registry().validate(tool, {"webhook_url": "https://example.org/hook", "text": "x"})
    text = msgspec.json.encode(graph).decode()
    assert "YOUR_" not in text and "hooks.example.com" not in text


@pytest.mark.parametrize(("prompt", "tool", "url"), [
    ("总结今天的新闻发到钉钉 https://oapi.dingtalk.com/robot/send?access_token=abc", "dingtalk",
     "https://oapi.dingtalk.com/robot/send?access_token=abc"),
    ("Summarise this text and send it to WeCom https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1", "wecom",
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"),
])  # fmt: skip
def test_url_in_the_request_is_the_bots_address(pipeline, prompt, tool, url):
    graph = pipeline(prompt)
    [bot] = _bots(graph)
    assert bot.config.tool == tool and bot.config.arguments["webhook_url"] == url
    start = next(n for n in graph.nodes if node_type(n) == "input")
    assert f"{tool}_webhook_url" not in {f.name for f in start.config.fields}
    # the bot's address (with its token) is never fetched as a page
    assert not [n for n in graph.nodes if node_type(n) == "api" and n.config.url == url]


def test_digest_template_delivery_carries_the_digest_text(pipeline):
    graph = pipeline("每天早上8点把Hacker News热门文章总结后发到钉钉群")
    [bot] = _bots(graph)
    assert bot.config.tool == "dingtalk"
    assert bot.config.arguments == {"webhook_url": "{{ inputs.dingtalk_webhook_url }}", "text": "{{ nodes.compose.output }}"}
