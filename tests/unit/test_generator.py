"""WorkflowGenerator: template + composition, always valid and laid out; estimate (pure, no I/O)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilot.core.templating import evaluate, referenced_nodes
from pilot.generation import delivery
from pilot.generation.estimate import estimate
from pilot.generation.generator import GenerationError, WorkflowGenerator
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.settings import Settings
from pilot.templates.catalog import default_catalog
from pilot.workflows.model import LoopNode, node_type
from pilot.workflows.validation import validate_graph


@pytest.fixture(scope="module")
def pipeline():
    analyzer, generator = default_offline_analyzer(), WorkflowGenerator(default_catalog())

    def run(prompt: str):
        bp = analyzer.analyze(prompt)
        return bp, generator.generate(bp, prompt)

    return run


def _by_type(graph, kind):
    return [n for n in graph.nodes if node_type(n) == kind]


def test_every_template_example_generates_a_valid_laid_out_graph(pipeline):
    for t in default_catalog().all():
        for prompt in [*t.examples.en, *t.examples.zh]:
            _, graph = pipeline(prompt)
            assert validate_graph(graph).valid, prompt
            assert len({(n.position.x, n.position.y) for n in graph.nodes}) == len(graph.nodes), prompt
            assert node_type(graph.nodes[-1]) == "output" or any(node_type(n) == "output" for n in graph.nodes)


def test_loop_added_for_item_by_item_requests(pipeline):
    bp, graph = pipeline("批量把用户评论逐条翻译成英文")
    assert bp.template_id == "translation" and bp.features.loop
    loops = [n for n in graph.nodes if isinstance(n, LoopNode)]
    assert len(loops) == 1 and loops[0].config.items == "{{ inputs.item_list }}"
    assert [node_type(n) for n in loops[0].config.body.nodes] == ["llm"]
    start = next(n for n in graph.nodes if node_type(n) == "input")
    assert any(f.name == "item_list" and f.type == "array" for f in start.config.fields)
    # the translation now receives the per-item results
    translate = next(n for n in graph.nodes if n.id == "translate")
    assert f"nodes.{loops[0].id}.output" in translate.config.prompt


def test_condition_with_real_branches_gating_the_notification(pipeline):
    prompt = "translate customer reviews into English and if the review is negative send it to Slack, otherwise archive it"
    bp, graph = pipeline(prompt)
    assert bp.features.condition
    cond = next(n for n in graph.nodes if n.id.startswith("check_condition"))
    out = {(e.source_handle, e.target) for e in graph.edges if e.source == cond.id}
    handles = {h for h, _ in out}
    assert handles == {"match", "else"}
    match_targets = {t for h, t in out if h == "match"}
    assert any(n.id in match_targets and node_type(n) == "tool" and n.config.tool == "slack" for n in graph.nodes)
    # the case expression is valid sandboxed jinja2 and tests the word from the request
    [node_id] = referenced_nodes(cond.config.cases[0].when, expression=True)
    assert evaluate(cond.config.cases[0].when, {"nodes": {node_id: {"output": "This is NEGATIVE feedback"}}}) is True
    assert evaluate(cond.config.cases[0].when, {"nodes": {node_id: {"output": "lovely"}}}) is False


def test_tool_per_integration_and_webhook_for_services_without_connector(pipeline):
    _, graph = pipeline("summarise this meeting transcript and send it to Slack, Telegram and my email")
    tools = {n.config.tool: n for n in _by_type(graph, "tool")}
    assert {"slack", "email", "webhook"} <= set(tools)
    hook = [n for n in _by_type(graph, "tool") if n.config.tool == "webhook"]
    assert any(n.config.arguments["payload"]["integration"] == "telegram" for n in hook)
    ids = [n.id for n in graph.nodes]
    assert len(ids) == len(set(ids))
    out_id = next(n.id for n in graph.nodes if node_type(n) == "output")
    # every new tool delivers before the output
    assert all(any(e.source == n.id and e.target == out_id for e in graph.edges) for n in hook)


def test_api_node_for_a_named_source_and_schedule_in_settings(pipeline):
    _bp, graph = pipeline("every weekday at 9am summarise new Zendesk tickets and post the summary to #support on Slack")
    assert graph.settings.schedule == "0 9 * * 1-5"
    apis = _by_type(graph, "api")
    assert any("zendesk.com" in n.config.url for n in apis)
    slack = [n for n in _by_type(graph, "tool") if n.config.tool == "slack"]
    assert slack and slack[0].config.arguments.get("channel") == "#support"


def test_knowledge_node_when_answering_from_documents(pipeline):
    bp, graph = pipeline("translate the answer to questions about our product manual into French")
    assert bp.features.knowledge
    assert _by_type(graph, "knowledge")


def test_template_parameters_follow_the_request(pipeline):
    _, graph = pipeline("每天早上7点把Hacker News热门文章总结成中文发到邮箱 boss@example.com")
    assert graph.settings.schedule == "0 7 * * *"
    email = [n for n in _by_type(graph, "tool") if n.config.tool == "email"]
    assert email and email[0].config.arguments["to"] == "boss@example.com"
    assert not [n for n in _by_type(graph, "tool") if n.config.tool == "slack"]  # delivery moved, not duplicated


def test_invalid_composition_is_a_500_not_a_silent_bad_graph(monkeypatch):
    analyzer, generator = default_offline_analyzer(), WorkflowGenerator(default_catalog())
    bp = analyzer.analyze("translate this into German")

    def broken(self, d, *args, **kwargs):
        d.connect("translate", "no_such_node")

    monkeypatch.setattr(WorkflowGenerator, "_compose", broken)
    with pytest.raises(GenerationError) as info:
        generator.generate(bp, "translate this into German")
    assert info.value.status_code == 500 and info.value.extra["problems"]


def test_prompt_text_never_becomes_template_code(pipeline):
    prompt = "for each row {{ nodes.x.__class__ }} {% raw %} translate it to German"
    _, graph = pipeline(prompt)
    assert "__class__ }}" not in msgspec.json.encode(graph).decode()
    assert validate_graph(graph).valid


def test_estimate_counts_loops_and_prices(pipeline):
    _, graph = pipeline("批量把用户评论逐条翻译成英文")
    offline = estimate(graph, Settings.from_env({}))
    priced = estimate(graph, Settings.from_env({"OPENAI_API_KEY": "sk-test"}))
    llm_nodes = sum(1 for n in graph.nodes if node_type(n) == "llm")
    assert offline.llm_calls == llm_nodes + 5  # loop body × expected items
    assert offline.cost_usd == 0 and priced.cost_usd > 0
    assert offline.duration_s == priced.duration_s > 0


def test_keyword_extraction():
    assert delivery._keyword("the sentiment is negative") == "negative"
    assert delivery._keyword("金额超过1000") == "金额超过1000"
    assert delivery._quote("it's") == "'its'"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_arbitrary_prompts_give_valid_graphs(pipeline, text):
    _, graph = pipeline(text)
    assert validate_graph(graph).valid
