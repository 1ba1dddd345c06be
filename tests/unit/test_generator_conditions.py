""""If X, send it to Y": the request's condition gates the delivery (the template's own included),
tests the subject the user named, and the delivery target is a run input, not a placeholder."""

from __future__ import annotations

import msgspec
import pytest

from pilot.core.templating import evaluate, referenced_nodes
from pilot.generation.conditions import gates_delivery, keyword, match_expression
from pilot.generation.generator import WorkflowGenerator
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.templates.catalog import default_catalog
from pilot.workflows.model import node_type
from pilot.workflows.validation import validate_graph
from tests.unit.test_templates_run import Harness, ScriptedLLM

ZH_DIGEST = "每天早上总结Hacker News的热门文章，如果有AI相关的就发到飞书群"
GATED = [
    # (prompt, subject the condition must test, words of the raw phrase that must not be tested)
    (ZH_DIGEST, "ai", ["相关", "有ai"]),
    ("Every morning summarise Hacker News and only post to Slack if a story mentions AI", "ai", ["mentions", "story"]),
    ("When a support ticket is negative, email the manager", "negative", ["ticket"]),
]
DELIVERY_TOOLS = {"slack", "email", "webhook", "feishu", "dingtalk", "wecom"}


@pytest.fixture(scope="module")
def pipeline():
    analyzer, generator = default_offline_analyzer(), WorkflowGenerator(default_catalog())

    def run(prompt: str):
        return generator.generate(analyzer.analyze(prompt), prompt)

    return run


def _ancestors(graph, nid: str) -> set[str]:
    preds: dict[str, set[str]] = {}
    for e in graph.edges:
        preds.setdefault(e.target, set()).add(e.source)
    seen, stack = set(), [nid]
    while stack:
        for p in preds.get(stack.pop(), ()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


@pytest.mark.parametrize(("prompt", "subject", "raw_words"), GATED)
def test_condition_gates_every_delivery(pipeline, prompt, subject, raw_words):
    graph = pipeline(prompt)
    assert validate_graph(graph).valid
    [cond] = [n for n in graph.nodes if n.id.startswith("check_condition")]
    out = next(n.id for n in graph.nodes if node_type(n) == "output")
    deliveries = [n for n in graph.nodes if node_type(n) == "tool" and n.config.tool in DELIVERY_TOOLS]
    assert deliveries
    for node in deliveries:
        assert cond.id in _ancestors(graph, node.id), node.id
        into = [(e.source, e.source_handle) for e in graph.edges if e.target == node.id]
        assert into == [(cond.id, "match")], into
    # else goes on to the output: the delivery is skipped, the run still answers
    [else_target] = [e.target for e in graph.edges if e.source == cond.id and e.source_handle == "else"]
    assert else_target == out or else_target in _ancestors(graph, out)
    # no filler steps restating the condition
    assert not [n for n in graph.nodes if n.id.startswith(("handle_match", "handle_otherwise"))]
    # the expression tests the subject, not the raw phrase, against the text being delivered
    when = cond.config.cases[0].when
    assert f"'{subject}'" in when and not any(w in when for w in raw_words)
    [ref] = referenced_nodes(when, expression=True)
    assert evaluate(when, {"nodes": {ref: {"output": f"Today: {subject.upper()} tooling, databases."}}}) is True
    assert evaluate(when, {"nodes": {ref: {"output": "He said again they maintain a plain ledger."}}}) is False


@pytest.mark.parametrize(("prompt", "subject", "raw_words"), GATED)
def test_delivery_target_is_a_required_input_not_a_placeholder(pipeline, prompt, subject, raw_words):
    graph = pipeline(prompt)
    text = msgspec.json.encode(graph).decode()
    for placeholder in ("YOUR_", "example.com"):
        assert placeholder not in text
    start = next(n for n in graph.nodes if node_type(n) == "input")
    required = {f.name for f in start.config.fields if f.required}
    for node in graph.nodes:
        if node_type(node) == "tool" and node.config.tool in ("webhook", "email", "feishu", "dingtalk", "wecom"):
            target = node.config.arguments[{"webhook": "url", "email": "to"}.get(node.config.tool, "webhook_url")]
            name = target.removeprefix("{{ inputs.").removesuffix(" }}")
            assert target == f"{{{{ inputs.{name} }}}}" and name in required, target


def test_feishu_delivery_asks_for_its_webhook(pipeline):
    graph = pipeline(ZH_DIGEST)
    [hook] = [n for n in graph.nodes if node_type(n) == "tool"]
    assert hook.config.tool == "feishu"
    assert hook.config.arguments == {"webhook_url": "{{ inputs.feishu_webhook_url }}", "text": "{{ nodes.compose.output }}"}
    start = next(n for n in graph.nodes if node_type(n) == "input")
    field = next(f for f in start.config.fields if f.name == "feishu_webhook_url")
    assert field.required and "open.feishu.cn" in field.description  # an example, never the value


def test_a_url_in_the_request_is_used_as_is(pipeline):
    graph = pipeline("每天早上总结Hacker News热门文章，如果有AI相关的就发到飞书群 https://open.feishu.cn/open-apis/bot/v2/hook/abc123")
    [hook] = [n for n in graph.nodes if node_type(n) == "tool"]
    assert hook.config.arguments["webhook_url"] == "https://open.feishu.cn/open-apis/bot/v2/hook/abc123"


def test_condition_that_does_not_decide_delivery_keeps_its_place(pipeline):
    """"post to Slack. If a story is about Rust, highlight it": the delivery is not gated."""
    assert not gates_delivery("Every morning summarise Hacker News and post it to Slack. If a story is about Rust, highlight it")
    assert gates_delivery("If any story mentions AI, post the digest to Slack")
    assert gates_delivery(ZH_DIGEST.replace("，", ","))


@pytest.mark.parametrize(("term", "subject"), [
    ("有ai相关的", "ai"), ("有关于数据库的文章", "数据库"), ("情感是负面的", "负面"), ("金额超过1000", "金额超过1000"),
    ("any story mentions ai", "ai"), ("story mentions ai", "ai"), ("a story is about machine learning", "machine learning"),
    ("the sentiment is negative", "negative"), ("support ticket is negative", "negative"),
])  # fmt: skip
def test_keyword_is_the_subject(term, subject):
    assert keyword(term) == subject


def test_match_expression_is_whole_word_and_case_insensitive():
    when = match_expression("ai", "nodes.compose.output")
    for text, expected in [("New AI model", True), ("一款AI编程工具", True), ("AI-powered search (AI).", True),
                           ("Story about AI's future", True), ("said, maintain, email", False), ("", False)]:
        assert evaluate(when, {"nodes": {"compose": {"output": text}}}) is expected, text
    phrase = match_expression("machine learning", "nodes.compose.output")
    assert evaluate(phrase, {"nodes": {"compose": {"output": "Machine Learning at scale"}}}) is True


@pytest.mark.parametrize(("digest", "delivered"), [
    ("数据库与编译器：今天的三条新闻（Postgres 17, Rust 1.80）", False),
    ("今日要闻：OpenAI 发布新的 AI 编程助手", True),
])  # fmt: skip
async def test_generated_digest_delivers_only_when_the_subject_is_mentioned(pipeline, digest, delivered):
    graph = pipeline(ZH_DIGEST)
    h = Harness(ScriptedLLM({"You edit a daily tech digest": digest}))
    hook = "https://open.feishu.cn/open-apis/bot/v2/hook/abc123"
    outputs = await h.run(graph, {"feishu_webhook_url": hook})
    assert outputs["digest"] == digest  # the run answers either way
    statuses = h.statuses()
    assert statuses["check_condition"] == "succeeded" and statuses["result"] == "succeeded"
    if delivered:
        [(tool, args)] = h.tools.calls
        assert tool == "feishu" and args.webhook_url == hook and args.text == digest
        assert statuses["deliver_webhook"] == "succeeded"
    else:
        assert statuses["deliver_webhook"] == "skipped" and not h.tools.calls
