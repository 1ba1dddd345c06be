"""The rule-based edit planner: English and Chinese instructions → the right minimal edit."""

from __future__ import annotations

import pytest

from pilot.chat.phrases import describe_cron, find_model, language_of, parse_schedule
from pilot.chat.planner_rules import plan_edits
from pilot.generation.compiler import compile_plan
from pilot.generation.plan import AiStep, BranchStep, Case, Comparison, DeliverStep, SourceStep, WorkflowPlan
from pilot.templates.catalog import default_catalog
from pilot.workflows.model import LoopNode, ManualTrigger, ScheduleTrigger, ToolNode, WebhookTrigger
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


# ---------------------------------------------------------------- plan-built workflows (what chat creates)


def planned(*steps, lang="en", trigger=None):
    return compile_plan(WorkflowPlan(title="t", language=lang, trigger=trigger or ManualTrigger(), steps=list(steps)))


def edges(graph):
    return {(e.source, e.target, e.source_handle) for e in graph.edges}


@pytest.mark.parametrize("text,when", [
    ("if the score is above 7, also send it to Slack", "nodes.score.output.score > 7"),
    ("also post it to slack when the score is 8 or more", "nodes.score.output.score >= 8"),
    ("when the score is at least 8, notify #sales on slack", "nodes.score.output.score >= 8"),
    ("如果评分高于7分，同时发到Slack", "nodes.score.output.score > 7"),
])
def test_a_branch_on_a_comparison(text, when):
    old = planned(AiStep(id="score", task="score"))
    plan = plan_edits(text, old)
    new = nodes(plan.graph)
    assert set(new) - set(nodes(old)) == {"check", "send_slack"}
    assert new["check"].config.cases[0].when == when
    case = new["check"].config.cases[0].id
    assert {("score", "check", None), ("check", "send_slack", case), ("send_slack", "result", None),
            ("check", "result", "else")} == edges(plan.graph) - {("start", "score", None)}
    assert validate_graph(plan.graph).valid


def test_a_branch_tests_the_field_where_it_is_produced():
    # a webhook payload: the field is read from it
    hook = planned(AiStep(id="summarize", task="summarize"), trigger=WebhookTrigger())
    new = nodes(plan_edits("if the amount is over 1000, email my manager", hook).graph)
    assert new["check"].config.cases[0].when == "inputs.payload.amount > 1000"
    assert new["send_email"].config.arguments["to"] == "{{ inputs.manager_email }}"
    # an AI step named after the field gains it in its structured output
    rated = planned(AiStep(id="rating", task="generate", instruction="rate the review"))
    plan = plan_edits("if the rating is below 3, also email me", rated)
    new = nodes(plan.graph)
    assert new["check"].config.cases[0].when == "nodes.rating.output.rating < 3"
    assert new["rating"].config.output_schema["properties"]["rating"] == {"type": "number"}
    # nowhere to read it from: a run input
    plain = planned(AiStep(id="summarize", task="summarize"))
    new = nodes(plan_edits("如果金额大于1000就发给主管", plain).graph)
    assert new["check"].config.cases[0].when == "inputs.amount > 1000"
    assert {f.name: f.type for f in new["start"].config.fields}["amount"] == "number"
    # a classification's category
    cls = planned(AiStep(id="classify", task="classify", categories=["bug", "billing"]))
    new = nodes(plan_edits("if the category is bug, also post it to slack", cls).graph)
    assert new["check"].config.cases[0].when == 'nodes.classify.output.category == "bug"'


def test_a_branch_without_a_comparison_or_an_action_is_explained():
    old = planned(AiStep(id="score", task="score"))
    vague = plan_edits("if it looks urgent, also send it to Slack", old)
    assert vague.graph is None and "comparison" in vague.problems[0].en  # never an unconditional Slack post
    no_action = plan_edits("if the score is above 7", old)
    assert no_action.graph is None and "what to do" in no_action.problems[0].en
    assert not plan_edits("retry 3 times when a step fails", old).problems  # not a branch: the retry rule's


def test_a_parallel_source_feeds_the_same_step():
    old = planned(SourceStep(id="fetch", service="hacker_news"), AiStep(id="summarize", task="summarize"),
                  DeliverStep(id="post", service="slack"))
    plan = plan_edits("also fetch the latest issues from GitHub in parallel", old)
    new = nodes(plan.graph)
    assert set(new) - set(nodes(old)) == {"fetch_github"}
    assert {("start", "fetch_github", None), ("fetch_github", "summarize", None)} <= edges(plan.graph)
    assert "nodes.fetch_github.output.body" in new["summarize"].config.prompt
    # without a source yet: next to the input, feeding the first AI step
    plain = planned(AiStep(id="summarize", task="summarize"), lang="zh")
    plan = plan_edits("同时从HubSpot拉数据", plain)
    assert {("start", "fetch_hubspot", None), ("fetch_hubspot", "summarize", None)} <= edges(plan.graph)
    assert plan_edits("同时发到飞书", plain).ops[-1].node["config"]["tool"] == "feishu"  # a delivery, not a source
    again = plan_edits("also pull data from HubSpot at the same time", plan.graph)
    assert again.graph is None and "already" in again.problems[0].en


def test_batches():
    old = planned(AiStep(id="translate", task="translate", language="French"))
    plan = plan_edits("do it in batches of 25", old)
    loop = next(n for n in plan.graph.nodes if isinstance(n, LoopNode))
    assert loop.config.items == "inputs.items | batch(25) | list" and loop.title == "In batches of 25"
    assert "{{ item }}" in loop.config.body.nodes[0].config.prompt
    assert [f.name for f in plan.graph.nodes[0].config.fields] == ["items"]
    per_item = plan_edits("run it on every row of the sheet", old).graph
    batched = plan_edits("每10条一批", per_item)
    loop = next(n for n in batched.graph.nodes if isinstance(n, LoopNode))
    assert loop.config.items == "inputs.rows | batch(10) | list" and len(batched.ops) == 1


def test_a_batch_never_puts_a_branch_in_a_loop_without_its_targets():
    old = planned(AiStep(id="score", task="score"), BranchStep(id="check", on="score", field="score", cases=[
        Case(label="hot", when=Comparison(subject="score", field="score", op="gt", value=7),
             steps=[DeliverStep(id="post", service="slack")])]))
    new = plan_edits("do it in batches of 20", old).graph
    loop = next(n for n in new.nodes if isinstance(n, LoopNode))
    assert [n.id for n in loop.config.body.nodes] == ["score"]
    assert ("check", "send_slack", "hot") in edges(new)


def test_the_language_of_a_planned_translation_changes_everywhere():
    old = planned(AiStep(id="translate", task="translate", language="French", instruction="translate product descriptions into french"))
    new = nodes(plan_edits("translate to Spanish instead", old).graph)["translate"]
    assert new.title == "Translate into Spanish" and "french" not in new.config.prompt.lower()
    assert "into spanish" in new.config.prompt and "Target language: Spanish" in new.config.prompt
    assert new.config.system.endswith("Translate into Spanish.")
    zh = planned(AiStep(id="translate", task="translate", language="Chinese", instruction="把客户邮件翻译成中文"), lang="zh")
    new = nodes(plan_edits("改成翻译成日语", zh).graph)["translate"]
    assert "日语" in new.config.prompt and "中文" not in new.config.prompt and "日语" in new.config.system


def test_a_schedule_trigger_follows_the_schedule():
    old = planned(AiStep(id="summarize", task="summarize"), trigger=ScheduleTrigger(cron="0 8 * * *"))
    assert old.settings.schedule == "0 8 * * *"
    new = plan_edits("every Monday at 9", old).graph
    assert new.settings.schedule == new.nodes[0].config.trigger.cron == "0 9 * * 1"
    assert new.nodes[0].title == "Schedule 0 9 * * 1"
    off = plan_edits("stop the schedule", new).graph
    assert off.settings.schedule is None and off.nodes[0].config.trigger is None and off.nodes[0].title == "Start"
    manual = plan_edits("every Monday at 9", planned(AiStep(id="summarize", task="summarize"))).graph
    assert manual.settings.schedule == "0 9 * * 1" and manual.nodes[0].config.trigger is None  # a manual trigger is left alone
