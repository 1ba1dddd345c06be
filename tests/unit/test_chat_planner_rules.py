"""The rule-based edit planner: English and Chinese instructions → the right minimal edit."""

from __future__ import annotations

import pytest

from pilot.chat.phrases import describe_cron, find_model, language_of, parse_schedule
from pilot.chat.planner_rules import plan_edits
from pilot.templates.catalog import default_catalog
from pilot.workflows.model import LoopNode, ToolNode
from pilot.workflows.validation import iter_all_nodes, validate_graph


def template(tid: str):
    return default_catalog().instantiate(tid)


def nodes(graph):
    return {n.id: n for n in iter_all_nodes(graph)}


@pytest.mark.parametrize("text", ["also email me the result", "同时发邮件给我"])
def test_add_email_before_the_output(text):
    old = template("translation")
    plan = plan_edits(text, old)
    new = plan.graph
    added = [n for n in new.nodes if n.id not in nodes(old)]
    assert len(added) == 1 and isinstance(added[0], ToolNode) and added[0].config.tool == "email"
    assert {(e.source, e.target) for e in new.edges} >= {("review", added[0].id), (added[0].id, "result")}
    assert added[0].config.arguments["to"] == "{{ inputs.notify_email }}"
    assert any(f.name == "notify_email" for f in new.nodes[0].config.fields)  # the recipient becomes an input
    assert validate_graph(new).valid


@pytest.mark.parametrize("text", ["把翻译换成日语", "translate to Japanese instead"])
def test_change_the_target_language(text):
    plan = plan_edits(text, template("translation"))
    by_id = nodes(plan.graph)
    assert by_id["translate"].title == "Translate to Japanese"
    assert "into Japanese" in by_id["translate"].config.system and "English" not in by_id["translate"].config.system
    assert by_id["result"].config.outputs["target_language"] == "Japanese"
    assert plan.changes[0].zh == "已将语言从英文改为日语。"


@pytest.mark.parametrize("text,tid,removed", [
    ("remove the approval step", "classification_routing", "human_review"),
    ("删除审校步骤", "translation", "review"),
    ("去掉Slack通知", "customer_support", "notify_slack"),
])
def test_remove_by_title_or_type(text, tid, removed):
    old = template(tid)
    new = plan_edits(text, old).graph
    assert set(nodes(old)) - set(nodes(new)) == {removed}
    assert validate_graph(new).valid


@pytest.mark.parametrize("text", ["run it on every row of the sheet", "对每一行都执行"])
def test_wrap_in_a_loop(text):
    new = plan_edits(text, template("translation")).graph
    loop = next(n for n in new.nodes if isinstance(n, LoopNode))
    assert loop.config.items == "inputs.rows"
    assert [n.id for n in loop.config.body.nodes] == ["translate", "review"]
    assert [f.name for f in new.nodes[0].config.fields if f.required] == ["rows"]  # 'text' now comes per row


@pytest.mark.parametrize("text", ["use gpt-4o", "换成 gpt-4o"])
def test_model_change_reaches_loop_bodies(text):
    new = plan_edits(text, template("scheduled_digest")).graph
    models = {n.id: n.config.model for n in iter_all_nodes(new) if hasattr(n.config, "model")}
    assert models == {"summarize_story": "gpt-4o", "compose": "gpt-4o"}


@pytest.mark.parametrize("text,cron", [("every Monday at 9", "0 9 * * 1"), ("每周一早上9点", "0 9 * * 1"),
                                       ("daily at 6pm", "0 18 * * *"), ("每天晚上8点", "0 20 * * *"),
                                       ("every weekday at 7:30", "30 7 * * 1-5"), ("每15分钟", "*/15 * * * *")])
def test_schedule(text, cron):
    assert parse_schedule(text) == cron
    assert plan_edits(text, template("summarization")).graph.settings.schedule == cron


def test_swap_integration_keeps_the_step_in_place():
    old = template("scheduled_digest")
    plan = plan_edits("send to email instead of Slack", old)
    new = nodes(plan.graph)
    assert new["deliver_slack"].config.tool == "email"
    assert set(new) == set(nodes(old))
    assert {(e.source, e.target) for e in plan.graph.edges} == {(e.source, e.target) for e in old.edges}
    dingtalk = nodes(plan_edits("改成发到钉钉", old).graph)["deliver_slack"]
    # Group bots use their own connector (as the generator does), URL asked for at run time.
    assert dingtalk.config.tool == "dingtalk"
    assert dingtalk.config.arguments["webhook_url"] == "{{ inputs.dingtalk_webhook_url }}"
    assert "text" in dingtalk.config.arguments


def test_several_edits_in_one_message():
    plan = plan_edits("use gpt-4o and post the answer to slack", template("rag_qa"))
    assert len(plan.changes) == 2
    by_id = nodes(plan.graph)
    assert by_id["answer"].config.model == "gpt-4o"
    assert any(isinstance(n, ToolNode) and n.config.tool == "slack" for n in by_id.values())


@pytest.mark.parametrize("text,tid,reason", [
    ("remove the approval step", "summarization", "couldn't find"),
    ("delete the translation step", "translation", "use its output"),
    ("run it for each document", "data_extraction", "already"),
    ("remove the input step", "summarization", "couldn't find"),
])
def test_unappliable_requests_change_nothing_and_say_why(text, tid, reason):
    plan = plan_edits(text, template(tid))
    assert plan.ops == [] and plan.graph is None
    assert reason in plan.problems[0].en


def test_gibberish_is_not_recognised():
    plan = plan_edits("blah blah", template("translation"))
    assert not plan.recognised


def test_phrases():
    assert find_model("switch to gpt4o please") == "gpt-4o"
    assert find_model("use a cheaper model") == "gpt-4o-mini"
    assert find_model("the summary looks good") is None
    assert language_of("把翻译换成日语") == "zh" and language_of("use gpt-4o") == "en" and language_of("换成 gpt-4o") == "zh"
    assert describe_cron("0 9 * * 1", "en") == "every Monday at 09:00"
    assert describe_cron("0 9 * * 1", "zh") == "每周一 09:00"
