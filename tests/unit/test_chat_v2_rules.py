"""Chat follow-ups that add or change v2 steps (wait, approval, transform, workflow, code), English
and Chinese, through the rule-based planner and the shared edit operations."""

from __future__ import annotations

import pytest

from pilot.chat.planner_llm import SYSTEM
from pilot.chat.planner_rules import KnownWorkflow, plan_edits
from pilot.chat.rules_pause import approver, seconds_in
from pilot.generation.compiler import compile_plan
from pilot.generation.plan import AiStep, DeliverStep, SourceStep, WaitStep, WorkflowPlan
from pilot.workflows.model import ManualTrigger, ScheduleTrigger, node_type
from pilot.workflows.validation import validate_graph


def email_flow(lang: str = "en"):
    return compile_plan(WorkflowPlan(title="Welcome", language=lang, trigger=ManualTrigger(), steps=[
        AiStep(id="write", task="generate", instruction="write a welcome email"),
        DeliverStep(id="send", service="email", target="the lead")]))


def leads_to_sheets(lang: str = "en"):
    return compile_plan(WorkflowPlan(title="Leads", language=lang, trigger=ScheduleTrigger(cron="0 8 * * *"), steps=[
        SourceStep(id="fetch_hubspot", service="hubspot"), DeliverStep(id="save", service="google_sheets", operation="append")]))


def edges(graph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


def added(old, new) -> list:
    before = {n.id for n in old.nodes}
    return [n for n in new.nodes if n.id not in before]


@pytest.mark.parametrize("text,lang", [("wait 2 days before sending the email", "en"), ("发邮件前先等两天", "zh")])
def test_a_wait_goes_in_front_of_the_named_delivery(text, lang):
    old = email_flow(lang)
    send = next(n.id for n in old.nodes if n.id.startswith("send"))
    plan = plan_edits(text, old)
    [wait] = added(old, plan.graph)
    assert wait.config.duration_s == 172800 and wait.title == ("等待 2 天" if lang == "zh" else "Wait 2 days")
    assert (wait.id, send) in edges(plan.graph) and ("write", send) not in edges(plan.graph)
    assert validate_graph(plan.graph).valid
    assert len([n for n in plan.graph.nodes if n.id.startswith("send")]) == 1


@pytest.mark.parametrize("text", ["change the wait to 3 hours", "把等待改成3小时", "wait 3 hours instead"])
def test_changing_the_wait(text):
    old = compile_plan(WorkflowPlan(title="Nudge", trigger=ManualTrigger(), steps=[
        WaitStep(id="wait", duration_s=86400), DeliverStep(id="send", service="email")]))
    plan = plan_edits(text, old)
    assert not added(old, plan.graph)
    wait = next(n for n in plan.graph.nodes if n.id == "wait")
    assert wait.config.duration_s == 10800 and wait.title.endswith(("3 hours", "3 小时"))


def test_changing_a_wait_that_is_not_there_says_so():
    plan = plan_edits("change the wait to 3 hours", email_flow())
    assert plan.graph is None and "no wait" in plan.problems[0].en


@pytest.mark.parametrize("text,who", [("a manager must approve before it is posted", "manager"), ("发布前需要主编审批", "主编"),
                                      ("the post needs human approval before it goes out", None)])
def test_an_approval_in_front_of_the_delivery(text, who):
    old = email_flow("zh" if who == "主编" else "en")
    plan = plan_edits(text, old)
    [wait] = added(old, plan.graph)
    assert wait.config.approval is not None and wait.config.approval.prompt
    assert wait.config.approval.approvers == ([who] if who else [])
    send = next(n.id for n in old.nodes if n.id.startswith("send"))
    assert (wait.id, send) in edges(plan.graph)


@pytest.mark.parametrize("text,who", [("a manager must approve it", "manager"), ("have my boss approve it before posting", "boss"),
                                      ("requires finance approval", "finance"), ("add an approval step", None),
                                      ("approved by the legal team", "legal team")])
def test_who_approves(text, who):
    assert approver(text, "en") == who


@pytest.mark.parametrize("text,zh_who", [("需要人工审核", None), ("等我审核通过再发", None), ("发布前需要审批", None)])
def test_nobody_in_particular_approves(text, zh_who):
    assert approver(text, "zh") == zh_who


@pytest.mark.parametrize("text,seconds", [("2 days", 172800), ("three hours", 10800), ("两天", 172800), ("半小时", 1800),
                                          ("十五分钟", 900), ("a week", 604800)])
def test_durations(text, seconds):
    assert seconds_in(text) == seconds


@pytest.mark.parametrize("text", ["remove duplicates by email before saving", "保存前按邮箱去重"])
def test_dedupe_before_saving_feeds_the_save(text):
    old = leads_to_sheets()
    plan = plan_edits(text, old)
    [t] = added(old, plan.graph)
    assert t.config.mode == "aggregate" and t.config.group_by == "item.email"
    assert t.config.items == "nodes.fetch_hubspot.output.body" and t.config.aggregates["row"].op == "first"
    save = next(n for n in plan.graph.nodes if n.id.startswith("append") or n.id.startswith("upsert"))
    assert f"nodes.{t.id}.output" in save.config.body and "fetch_hubspot" not in save.config.body
    assert {node_type(n) for n in plan.graph.nodes} == {"input", "api", "transform", "output"}  # no email step, nothing removed


@pytest.mark.parametrize("text", ["only keep name and email", "只保留姓名和邮箱"])
def test_keep_fields_of_a_list(text):
    old = leads_to_sheets()
    plan = plan_edits(text, old)
    [t] = added(old, plan.graph)
    assert t.config.mode == "map" and t.config.fields == {"name": "{{ item.name }}", "email": "{{ item.email }}"}


def test_dedupe_of_plain_text_is_refused_honestly():
    plan = plan_edits("remove duplicates by email", email_flow())
    assert plan.graph is None and "not a list" in plan.problems[0].en


def test_a_workflow_step_runs_the_workspace_workflow_named():
    known = [KnownWorkflow(id="wf_1", name="Data cleanup", inputs=("records",)), KnownWorkflow(id="wf_2", name="Onboarding")]
    old = email_flow()
    plan = plan_edits("run the cleanup workflow after that", old, workflows=known)
    [w] = added(old, plan.graph)
    assert w.config.workflow_id == "wf_1" and list(w.config.inputs) == ["records"]
    assert w.title == "Run the Data cleanup workflow" and (w.id, "result") in edges(plan.graph)


def test_a_workflow_step_without_a_match_keeps_the_spoken_name():
    old = email_flow()
    plan = plan_edits("然后运行「数据清理」工作流", old, workflows=[KnownWorkflow(id="wf_2", name="Onboarding")])
    [w] = added(old, plan.graph)
    assert w.config.workflow_id == "数据清理" and w.config.inputs == {"data": "{{ nodes.write.output }}"}
    assert "选择要运行的工作流" in plan.changes[0].zh


def test_an_ambiguous_workflow_name_asks():
    known = [KnownWorkflow(id="a", name="Cleanup CRM"), KnownWorkflow(id="b", name="Cleanup sheets")]
    plan = plan_edits("run the cleanup workflow after that", email_flow(), workflows=known)
    assert plan.graph is None and "which one" in plan.problems[0].en


@pytest.mark.parametrize("text", ["add a python step that normalizes the phone numbers", "加一个代码节点，把手机号格式化"])
def test_a_code_step_is_a_stub_to_edit(text):
    old = email_flow()
    plan = plan_edits(text, old)
    [code] = added(old, plan.graph)
    assert code.config.language == "python" and ("edit the code" in code.title or "请编辑代码" in code.title)
    scope: dict = {}
    exec(compile(code.config.code, "<stub>", "exec"), scope)  # noqa: S102 - the stub itself, to show it runs
    assert scope["main"]({"data": [1, 2]}) == {"data": [1, 2]}
    out = next(n for n in plan.graph.nodes if n.id == "result")
    assert out.config.outputs[code.id] == f"{{{{ nodes.{code.id}.output }}}}"


def test_a_javascript_step_is_refused_honestly():
    plan = plan_edits("add a javascript step that counts the words", email_flow())
    assert plan.graph is None and "Python" in plan.problems[0].en


@pytest.mark.parametrize("text,kind", [("remove the wait", "wait"), ("去掉等待", "wait")])
def test_v2_steps_can_be_removed(text, kind):
    old = compile_plan(WorkflowPlan(title="Nudge", trigger=ManualTrigger(), steps=[
        WaitStep(id="wait", duration_s=86400), DeliverStep(id="send", service="email")]))
    plan = plan_edits(text, old)
    assert plan.graph is not None and kind not in {n.id for n in plan.graph.nodes}


def test_the_llm_planner_knows_the_v2_types():
    for word in ("transform", "code", "agent", "workflow", "wait", "approval", "duration_s", "group_by"):
        assert word in SYSTEM
