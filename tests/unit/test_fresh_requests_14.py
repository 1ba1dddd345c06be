"""Fresh requests read as a user would (fourteenth session): a bot's cases said as what the user
asks about ("用户问物流的，…；问退换货的，…；其他问题…") are a classification and its branches; a record
made in an app the lexicon does not know ("在星云里创建一个售后单") is a write to that app under its
own name; "连同AI建议的回复一起存到…" keeps a loop's cases together, and "小红书笔记下面的评论" is read
from Xiaohongshu (笔记 there is what is read, and 笔记下 is not 记下, "note down")."""

from __future__ import annotations

import pytest

from pilot.generation.offline_result import generate_offline
from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import BranchStep, DeliverStep, LoopStep, SourceStep, walk
from pilot.templates.catalog import catalog_for
import asyncio

from pilot.core.templating import referenced_nodes
from pilot.engine.nodes.base import EngineServices
from pilot.engine.runner import GraphRunner, RunEnv
from pilot.events.bus import InMemoryBus
from pilot.events.recorder import EventRecorder
from pilot.workflows.model import ApiNode, ConditionNode, LlmNode, LoopNode, OutputNode, ToolNode, WaitNode, graph_from_builtins


def _graph(prompt: str):
    return generate_offline(catalog_for(None), prompt, None).graph


def _branches(prompt: str) -> list[BranchStep]:
    return [s for s in walk(plan_offline(prompt).steps) if isinstance(s, BranchStep)]


def test_a_bots_cases_said_as_what_the_user_asks_about() -> None:
    prompt = ("做个电商客服机器人：用户问物流的，去快递100查一下物流信息再回复；问退换货的，在旺店通里创建一个售后单；"
              "其他问题就用商品知识库来回答")
    plan = plan_offline(prompt)
    assert type(plan.trigger).__name__ == "ChatTrigger"
    [branch] = _branches(prompt)
    assert [c.label for c in branch.cases] == ["物流", "退换货"]
    first, second = branch.cases
    assert any(isinstance(s, SourceStep) and s.service == "kuaidi100" for s in walk(first.steps))
    assert [s.service for s in walk(second.steps) if isinstance(s, DeliverStep)] == ["wangdiantong"]
    assert branch.otherwise  # 其他问题: answered from the knowledge base
    graph = _graph(prompt)
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert len(cond.config.cases) == 2


def test_a_case_after_a_named_intent_classification() -> None:
    [branch] = _branches("做一个售前聊天机器人，先判断客户意图：问价格的，把报价单链接发给他并在HubSpot里记录这个客户；"
                         "想预约演示的，在飞书日历上建一个会议；其他问题用产品文档知识库来回答")
    assert [c.label for c in branch.cases] == ["价格", "预约演示"]
    assert [s.service for s in walk(branch.cases[1].steps) if isinstance(s, DeliverStep)] == ["feishu_calendar"]


def test_asking_about_something_when_is_not_a_case() -> None:
    # "客户问房源的时候": when the customer asks, not the case of a classification
    assert not any(c.label == "房源" for b in _branches(
        "帮我做个房产咨询聊天机器人：客户问房源的时候，从我们的房源知识库里找合适的房子推荐给他；"
        "如果客户留了手机号，就把手机号和购房需求记到 HubSpot 里。") for c in b.cases)


def test_a_record_in_an_unknown_app_is_written_there_under_its_name() -> None:
    graph = _graph("表单提交后，在星云里创建一个售后单")
    [api] = [n for n in graph.nodes if isinstance(n, ApiNode)]
    assert api.config.method == "POST" and api.config.service == "星云"


def test_the_loops_cases_stay_in_the_loop_with_what_is_read_first() -> None:
    prompt = ("每天下午6点拉一下我们小红书笔记下面的新评论，逐条让AI分成好评、差评、咨询三类：差评的发到飞书运营群提醒处理，"
              "咨询的连同AI建议的回复一起存到飞书多维表格等人工回复，好评不用处理")
    plan = plan_offline(prompt)
    assert isinstance(plan.steps[0], SourceStep) and plan.steps[0].service == "xiaohongshu"
    [loop] = [s for s in plan.steps if isinstance(s, LoopStep)]
    assert loop.over == plan.steps[0].id
    [branch] = [s for s in loop.steps if isinstance(s, BranchStep)]  # one switch, inside the loop
    assert {c.label for c in branch.cases} >= {"差评", "咨询"}
    assert not any(isinstance(s, BranchStep) for s in plan.steps)
    graph = _graph(prompt)  # valid: the switch reads the classification upstream of it
    assert any(isinstance(n, LoopNode) for n in graph.nodes)


def _waits(graph) -> list:
    return [n for n in graph.nodes if isinstance(n, WaitNode)]


def test_a_while_after_the_meeting_waits_from_its_end() -> None:
    graph = _graph("When someone books a call through Calendly, email them a short prep questionnaire right away. "
                   "24 hours after the meeting, send them a thank-you email and create a follow-up task in Asana.")
    [wait] = _waits(graph)
    assert wait.config.until == "{{ inputs.event.end_time }}" and wait.config.offset_s == 86400
    after = {e.target for e in graph.edges if e.source == wait.id}
    assert after, "the thank-you and the task come after the wait"


def test_waits_counted_from_the_event_add_up_to_what_was_said() -> None:
    # 满一周 then 满30天: the second wait is the 23 days left, not 30 more
    graph = _graph("HR提交新员工入职登记表后：当天给新人发一封欢迎邮件，入职满一周再发一份入职体验调查问卷邮件，满30天的时候在飞书上提醒HR约转正沟通")
    assert [w.config.duration_s for w in _waits(graph)] == [7 * 86400, 23 * 86400]
    assert not any(isinstance(n, ConditionNode) for n in graph.nodes)  # 当天 is "that day", not "when"


def test_not_done_within_a_while_waits_then_judges_again() -> None:
    graph = _graph("用户在官网注册后我们的系统会调一个webhook。如果24小时内他还没完成实名认证，就发短信提醒；"
                   "再过48小时还没认证的话，在企业微信里给销售派个任务让他打电话跟进")
    assert [w.config.duration_s for w in _waits(graph)] == [86400, 2 * 86400]
    conditions = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert len(conditions) == 2
    # the second test reads a judgement made after the second wait, not the stale first one
    judged = [next(iter(referenced_nodes(c.config.cases[0].when, expression=True))) for c in conditions]
    assert judged[0] != judged[1]
    assert not any(isinstance(n, ApiNode) and n.config.service == "phone_call" for n in graph.nodes)  # 让他打电话: the rep calls


def test_a_judgement_of_what_a_service_holds_and_its_no_side() -> None:
    graph = _graph("When our app posts a trial_started webhook, wait 7 days, then check in Stripe whether the account has "
                   "an active paid subscription. If it doesn't, add them to the 'trial-nurture' campaign in Customer.io; "
                   "if it does, do nothing.")
    assert any(isinstance(n, ApiNode) and n.config.service == "stripe" and n.config.method == "GET" for n in graph.nodes)
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    first = cond.config.cases[0]
    assert first.when.endswith('== "no active paid subscription"')
    [write] = [n for n in graph.nodes if isinstance(n, ApiNode) and n.config.service == "customerio"]
    assert (cond.id, write.id) in {(e.source, e.target) for e in graph.edges}


def test_a_loop_split_by_a_wait_carries_what_the_second_half_tests() -> None:
    # the second loop's condition read nodes.score, which lives in the first loop's body: an invalid
    # graph, and the generation fell back to a workflow without the steps it could not place
    graph = _graph("When our CRM posts a batch of leads to a webhook, for each lead have AI score it from 1 to 10, "
                   "wait 2 days, and if the score is above 7 email the lead.")
    loops = {n.id: n for n in graph.nodes if isinstance(n, LoopNode)}
    first, second = loops["for_each"], loops["for_each_after"]
    [carry] = [n for n in first.config.body.nodes if isinstance(n, OutputNode)]
    assert carry.config.outputs == {"item": "{{ item }}", "score": "{{ nodes.score.output }}"}
    assert second.config.items == "{{ nodes.for_each.output }}"
    [cond] = [n for n in second.config.body.nodes if isinstance(n, ConditionNode)]
    assert cond.config.cases[0].when == "item.score.score > 7"
    [email] = [n for n in second.config.body.nodes if isinstance(n, ToolNode)]
    assert email.config.arguments["to"] == "{{ item.item.email }}"  # the lead, not the carried record
    assert any(isinstance(n, WaitNode) for n in graph.nodes)


async def test_a_loop_body_with_an_output_node_yields_that_record_per_item(make_settings) -> None:
    # what the carried split relies on in the engine: a body's output node is the item's result
    graph = graph_from_builtins({"nodes": [
        {"id": "first", "type": "loop", "config": {"items": "{{ [1, 5] }}", "body": {"nodes": [
            {"id": "double", "type": "transform", "config": {"mode": "set", "fields": {"n": "{{ item * 2 }}"}}},
            {"id": "carry", "type": "output", "config": {"outputs": {"item": "{{ item }}", "double": "{{ nodes.double.output }}"}}}],
            "edges": [{"id": "e", "source": "double", "target": "carry"}]}}},
        {"id": "second", "type": "loop", "config": {"items": "{{ nodes.first.output }}", "body": {"nodes": [
            {"id": "check", "type": "condition", "config": {"cases": [{"id": "big", "when": "item.double.n > 5"}], "else": "else"}},
            {"id": "keep", "type": "transform", "config": {"mode": "set", "fields": {"kept": "{{ item.item }}"}}}],
            "edges": [{"id": "e2", "source": "check", "target": "keep", "source_handle": "big"}]}}}],
        "edges": [{"id": "e1", "source": "first", "target": "second"}]})
    recorder = EventRecorder("exe_t", bus=InMemoryBus(), sessions=None)
    env = RunEnv(execution_id="exe_t", workspace_id="ws", services=EngineServices(settings=make_settings()),
                 emit=recorder.emit_nowait, semaphore=asyncio.Semaphore(8), default_timeout_s=30)
    runner = GraphRunner(env, graph.nodes, graph.edges, {"inputs": {}, "nodes": {}})
    await runner.run()
    await recorder.aclose()
    first = runner.node_outputs["first"]["output"]
    assert first == [{"item": 1, "double": {"n": 2}}, {"item": 5, "double": {"n": 10}}]
    second = runner.node_outputs["second"]["output"]
    assert second[1] == {"kept": 5} and second[0] != {"kept": 1}  # only the big one went on


@pytest.mark.parametrize(("prompt", "kind", "service"), [
    ("When I star an email in Gmail, create a task in Todoist with a one-line summary of the email as the title.", "app_event", "email"),
    ("HubSpot里交易阶段变成“已报价”的时候，等5天，然后发一封跟进邮件给客户", "app_event", "hubspot"),
    ("做一个问卷表单收集用户对新功能的反馈，每次有人提交，就让AI总结一下要点，存到Notion数据库里", "form", None),
    ("Internal HR assistant chat. Classify each employee message as policy, leave or IT. Policy questions: answer from "
     "the HR handbook knowledge base. Leave: create a time-off request in BambooHR. IT: open a ticket in ServiceNow.", "chat", None),
])
def test_triggers_said_in_passing(prompt: str, kind: str, service: str | None) -> None:
    trigger = _graph(prompt).nodes[0].config.trigger
    assert trigger is not None and trigger.__struct_config__.tag == kind
    if service:
        assert trigger.service == service


def test_case_actions_said_the_short_way() -> None:
    # "Bug就在Jira里建单": 建单 makes the ticket; "给这个issue打上question标签" labels the Gitee issue
    [branch] = _branches("客户通过反馈表单提交问题，表单里有个“类型”选项：Bug就在Jira里建单，需求就加到飞书项目的需求池，咨询的话让AI写个回复直接发邮件给客户")
    assert [s.service for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)] == ["jira"]
    [branch] = _branches("Gitee仓库有新issue的时候，让AI看一下是不是bug。是bug就在禅道里建一个bug单，不是的话就给这个issue打上question标签")
    [label] = [s for s in walk(branch.otherwise or []) if isinstance(s, DeliverStep)]
    assert (label.service, label.action) == ("gitee", "label")


def test_a_threshold_case_that_calls_a_refund_api() -> None:
    [branch] = _branches("做一个退款申请表单，用户填订单号和退款原因。提交后去有赞查一下这个订单的金额，小于100元的直接调有赞的退款接口退掉，"
                         "100元及以上的发到钉钉客服群让主管处理")
    assert [s.service for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)] == ["youzan"]


def test_an_inclusive_threshold_leaves_the_other_side_as_the_else() -> None:
    # 大于等于1万 / 1万以下: one test and its else (10,000 is not on both sides), and the else updates the record
    graph = _graph("飞书多维表格里新增一条采购申请时：金额大于等于1万的，要等财务总监审批，审批完把结果用飞书消息通知申请人；"
                   "1万以下的直接把这条记录的状态改成“自动通过”。")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert [c.when for c in cond.config.cases] == ["inputs.event.amount >= 10000"]
    [update] = [n for n in graph.nodes if isinstance(n, ApiNode) and n.config.service == "feishu_bitable"]
    assert update.config.method == "PUT"
    assert (cond.id, update.id) in {(e.source, e.target) for e in graph.edges if e.source_handle == "else"}


def test_a_score_on_a_scale_and_the_items_a_threshold_picks() -> None:
    graph = _graph("Every day at 6pm, grab today's new Trustpilot reviews, have AI score each one's sentiment from 1 to 5, "
                   "and for any review that scores 2 or lower, create a Zendesk ticket so the CX team can follow up.")
    [loop] = [n for n in graph.nodes if isinstance(n, LoopNode)]
    body = {n.id: n for n in loop.config.body.nodes}
    assert "score" in body["score"].config.output_schema["properties"]  # a number, not a sentiment label
    [cond] = [n for n in body.values() if isinstance(n, ConditionNode)]
    assert cond.config.cases[0].when == "nodes.score.output.score <= 2"
    assert any(isinstance(n, ApiNode) and n.config.service == "zendesk" for n in body.values())


def test_approval_outcomes_said_alone_before_their_actions() -> None:
    graph = _graph("员工通过表单提交请假申请后，先让直属领导审批。审批通过的，写进飞书多维表格的考勤表，并在飞书上通知HR；"
                   "不通过的，用飞书消息告诉申请人被驳回了。")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert cond.config.cases[0].when == "nodes.approval.output.approved == true"
    after = {h: {e.target for e in graph.edges if e.source == cond.id and e.source_handle == h} for h in ("approved", "else")}
    kinds = {n.id: (n.config.service if isinstance(n, ApiNode) else n.config.tool) for n in graph.nodes if isinstance(n, (ApiNode, ToolNode))}
    assert {kinds[t] for t in after["approved"]} >= {"feishu_bitable"} and {kinds[t] for t in after["else"]} == {"feishu"}


def test_a_threshold_said_before_what_it_needs() -> None:
    # "If the amount is over $500 it needs their manager's approval": the number ends the condition
    graph = _graph("Expense submission form for employees. If the amount is over $500 it needs their manager's approval, "
                   "and once the manager decides, email the employee the outcome. Anything $500 or under is auto-approved: "
                   "just post it to #expenses on Slack.")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert [c.when for c in cond.config.cases] == ["inputs.submission.amount > 500"]
    [wait] = [n for n in graph.nodes if isinstance(n, WaitNode)]
    assert wait.config.approval is not None
    assert (cond.id, wait.id) in {(e.source, e.target) for e in graph.edges}


def test_an_erp_named_by_its_product_is_one_write_and_not_a_read() -> None:
    plan = plan_offline("Shopify每来一个新订单，就调聚水潭的接口把订单同步到ERP，在飞书群里播报一下，再把订单信息写进谷歌表格")
    steps = list(walk(plan.steps))
    assert [s.service for s in steps if isinstance(s, DeliverStep)] == ["jushuitan", "feishu", "google_sheets"]
    assert not any(isinstance(s, SourceStep) for s in steps)  # 调…接口把订单同步到: a write, nothing read first


def test_advice_to_send_is_written_from_what_was_read() -> None:
    graph = _graph("每天早上7点把今天的天气和穿衣建议推送到我的企业微信")
    [fetch] = [n for n in graph.nodes if isinstance(n, ApiNode)]
    assert "openweathermap" in fetch.config.url
    [writer] = [n for n in graph.nodes if isinstance(n, LlmNode)]
    assert f"nodes.{fetch.id}.output" in writer.config.prompt
    [send] = [n for n in graph.nodes if isinstance(n, ToolNode)]
    assert send.config.arguments["text"] == f"{{{{ nodes.{writer.id}.output }}}}"


def test_a_list_for_each_party_is_one_answer_not_a_loop() -> None:
    graph = _graph("Summarize this contract PDF and list the key obligations and deadlines for each party.")
    assert not any(isinstance(n, LoopNode) for n in graph.nodes)
    assert any(isinstance(n, LlmNode) for n in graph.nodes)


def test_each_category_forwarded_to_its_own_recipient() -> None:
    graph = _graph("招聘邮箱收到简历邮件的时候，让AI看看简历适合哪个岗位：前端、后端还是产品，分别转发给对应面试官的邮箱；"
                   "都不合适的就自动回一封婉拒邮件")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert [c.when.rsplit("== ", 1)[1] for c in cond.config.cases] == ['"前端"', '"后端"', '"产品"']
    by_case = {e.source_handle: e.target for e in graph.edges if e.source == cond.id}
    emails = {n.id: n.config.arguments["to"] for n in graph.nodes if isinstance(n, ToolNode) and n.config.tool == "email"}
    recipients = [emails[by_case[c.id]] for c in cond.config.cases]
    assert len(set(recipients)) == 3  # one interviewer's address per position, not one for all
    assert "else" in by_case  # 都不合适的: the rejection


def test_a_second_action_of_a_case_is_not_a_label() -> None:
    # "create an incident in Jira and post to #ops on Slack": both on the failed side ("post" was a case)
    [branch] = _branches("Every night at 2am, GET https://backup.internal/api/status. If any backup job failed, "
                         "create an incident in Jira and post to #ops on Slack.")
    assert len(branch.cases) == 1
    assert [s.service for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)] == ["jira", "slack"]


def test_cases_by_a_field_said_in_each_case() -> None:
    [branch] = _branches("抖店的新订单会推送到我们的webhook，按商品类目分流：类目是生鲜的调用冷链仓的下单接口，类目是家电的在京东物流下单，"
                         "其他的发到普通仓的钉钉群里让他们发货")
    assert [c.when.value for c in branch.cases if c.when is not None] == ["生鲜", "家电"]
    assert [s.service for s in walk(branch.cases[1].steps) if isinstance(s, DeliverStep)] == ["jd_logistics"]
    assert [s.service for s in walk(branch.otherwise or []) if isinstance(s, DeliverStep)] == ["dingtalk"]


def test_what_is_built_is_not_a_step_and_anything_else_has_its_action() -> None:
    prompt = ("Build a customer service chatbot for our Shopify store. Classify each message as shipping, returns, or other. "
              "For shipping questions, look up the order in Shopify and tell them the tracking status. For returns, create a "
              "ticket in Gorgias. For anything else, answer from our FAQ knowledge base.")
    plan = plan_offline(prompt)
    assert [s.service for s in walk(plan.steps) if isinstance(s, DeliverStep)] == ["gorgias"]  # nothing written to Shopify
    [branch] = _branches(prompt)
    assert [type(s).__name__ for s in branch.otherwise or []] == ["SourceStep", "AiStep"]  # the FAQ answer, else side only


def test_each_category_to_the_recipient_listed_in_its_place() -> None:
    graph = _graph("官网留言表单：提交后AI分个类，咨询、投诉、合作三种，分别转发到客服、经理、商务的邮箱。")
    [cls] = [n for n in graph.nodes if isinstance(n, LlmNode)]
    assert cls.config.output_schema["properties"]["category"]["enum"][:3] == ["咨询", "投诉", "合作"]
    fields = {f.name: f.description for f in graph.nodes[0].config.fields}
    assert [fields[k] for k in ("email_to", "email_to_2", "email_to_3")] == ["收件人（客服邮箱）", "收件人（经理邮箱）", "收件人（商务邮箱）"]


@pytest.mark.parametrize(("prompt", "service"), [
    ("我有一百来个竞品商品链接，帮我逐个抓取页面，提取标题、价格和评分，最后汇总到一个Google表格里。", "google_sheets"),
    ("我们用Zendesk做客服。每来一个新工单，让AI判断是bug、功能建议还是账号问题：bug就在Jira建单；功能建议记到Notion的需求池数据库", "jira"),
])
def test_writes_said_the_short_way(prompt: str, service: str) -> None:
    assert service in [s.service for s in walk(plan_offline(prompt).steps) if isinstance(s, DeliverStep)]


def test_a_consultation_bot_is_a_chat() -> None:
    plan = plan_offline("健身房的会员咨询机器人：会员问课程表、价格、营业时间这些，就根据知识库回答；想约私教体验课的，问清楚姓名、电话和想约的时间，"
                        "存到飞书多维表格，再在企业微信里通知教练")
    assert type(plan.trigger).__name__ == "ChatTrigger"


def test_the_draft_is_sent_before_the_wait_for_my_ok() -> None:
    graph = _graph("I dump my rough notes in, AI turns them into a LinkedIn post, sends the draft to me on Telegram and waits "
                   "for my OK. If I approve, publish it to LinkedIn.")
    ids = {n.id: n for n in graph.nodes}
    [wait] = [n for n in graph.nodes if isinstance(n, WaitNode)]
    into_wait = [e.source for e in graph.edges if e.target == wait.id]
    assert [ids[s].config.service for s in into_wait] == ["telegram"]  # the draft goes out, then the run waits


@pytest.mark.parametrize(("prompt", "asked_on"), [
    ("员工用表单提交报销单，先发钉钉消息给财务主管审批，等他审批通过后，把这笔报销写进飞书多维表格的报销台账，再发邮件告诉员工报销已通过。", "dingtalk"),
    ("房产中介门店用的：官网提交的看房预约会通过webhook推过来。先在企业微信里通知门店经理确认，经理确认后，给客户发短信告知看房时间和带看经纪人，"
     "同时在飞书日历里建一个日程", "wecom"),
])
def test_the_message_that_asks_for_approval_goes_out_before_the_wait(prompt: str, asked_on: str) -> None:
    graph = _graph(prompt)
    tools = {n.id: n.config.tool for n in graph.nodes if isinstance(n, ToolNode)}
    [wait] = [n for n in graph.nodes if isinstance(n, WaitNode)]
    assert [tools.get(e.source) for e in graph.edges if e.target == wait.id] == [asked_on]


def test_the_app_we_use_is_where_the_event_happens() -> None:
    graph = _graph("我们用Zendesk做客服。每来一个新工单，让AI判断是bug、功能建议还是账号问题：bug就在Jira建单；"
                   "功能建议记到Notion的需求池数据库；账号问题让AI起草一个回复，直接在Zendesk里回复客户")
    trigger = graph.nodes[0].config.trigger
    assert (trigger.service, trigger.event) == ("zendesk", "new ticket")


def test_where_the_inbox_is_kept_is_context_and_putting_on_a_calendar_writes() -> None:
    plan = plan_offline("Front desk inbox for our clinic is in Outlook. When a new email comes in, sort it into appointment, "
                        "prescription, billing or other. appointment requests -> post in #front-desk on Slack. prescription refills "
                        "-> forward to nurse@ourclinic.com. billing -> add a record to the 'Billing Queue' table in Airtable. "
                        "other -> leave it alone.")
    assert [s.service for s in walk(plan.steps) if isinstance(s, DeliverStep)] == ["slack", "email", "airtable"]
    plan = plan_offline("We run a physio clinic. Our booking site fires a webhook whenever someone books. If they're a returning "
                        "patient, just put the appointment on the clinic's Google Calendar.")
    assert "google_calendar" in [s.service for s in walk(plan.steps) if isinstance(s, DeliverStep)]
    assert not any(isinstance(s, SourceStep) for s in walk(plan.steps))


def test_each_of_the_teams_own_systems_gets_its_own_endpoint() -> None:
    graph = _graph("我们做跨境独立站，订单系统每来一个新订单会推webhook过来。如果收货国家是美国，就把订单POST到美国仓的接口；"
                   "其他国家的一律推到欧洲仓的接口。")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert cond.config.cases[0].when == 'inputs.payload.country == "美国"'
    posts = [n for n in graph.nodes if isinstance(n, ApiNode) and n.config.method == "POST"]
    assert sorted(n.config.service for n in posts) == ["欧洲仓", "美国仓"]
    assert len({n.config.url for n in posts}) == 2  # two warehouses, two endpoints (one shared input before)


def test_a_webhook_handler_switches_on_the_event_type() -> None:
    graph = _graph("Stripe webhook handler: on invoice.payment_failed, email the customer a heads-up that their card failed; "
                   "on charge.refunded, post to #finance in Slack; on charge.dispute.created, create an urgent issue in Linear. "
                   "Ignore every other event type.")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert [c.when for c in cond.config.cases] == ['inputs.payload.type == "invoice.payment_failed"',
                                                   'inputs.payload.type == "charge.refunded"',
                                                   'inputs.payload.type == "charge.dispute.created"']
    targets = {e.source_handle: e.target for e in graph.edges if e.source == cond.id}
    kinds = {n.id: (n.config.tool if isinstance(n, ToolNode) else n.config.service) for n in graph.nodes if isinstance(n, (ToolNode, ApiNode))}
    assert [kinds[targets[c.id]] for c in cond.config.cases] == ["email", "slack", "linear"]


def test_a_score_made_before_a_wait_is_still_what_the_test_after_it_reads() -> None:
    # only a judgement goes stale over a wait; the score the AI gave is the one the threshold compares
    graph = _graph("When a new lead fills out our Typeform, have AI score them 1-10. Wait 3 days; if the score is 8 or more "
                   "and they haven't booked a call, email them a reminder.")
    [cond] = [n for n in graph.nodes if isinstance(n, ConditionNode)]
    assert cond.config.cases[0].when == "nodes.score.output.score >= 8"


@pytest.mark.parametrize("prompt", [
    "每天早上9点查一下昨天钉钉审批里所有的报销单，金额超过2000的发飞书提醒财务总监，其他的不用管",
    "每天晚上8点，把飞书审批里今天通过的报销单拉出来汇总，写进财务的MySQL报表库，同时在飞书群里发一条今日报销汇总",
])
def test_an_apps_approval_module_is_read_not_waited_on(prompt: str) -> None:
    # "钉钉审批里的报销单": records in the app's approval module, not a person's approval of this run
    assert not any(isinstance(n, WaitNode) for n in _graph(prompt).nodes)
