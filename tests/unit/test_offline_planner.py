"""The offline planner + compiler build the workflow the request describes (issue 9's examples and more)."""

from __future__ import annotations

import pytest

from pilot.generation.compiler import compile_plan
from pilot.generation.offline_planner import OfflinePlanner
from pilot.generation.plan import AiStep, BranchStep, Case, DeliverStep, LoopStep, ParallelStep, SourceStep, walk
from pilot.workflows.model import WorkflowGraph
from pilot.workflows.validation import iter_all_nodes, validate_graph

planner = OfflinePlanner()


def build(prompt: str) -> WorkflowGraph:
    return compile_plan(planner.plan(prompt))


def nodes(graph: WorkflowGraph) -> dict:
    return {n.id: n for n in iter_all_nodes(graph)}


def kind(node) -> str:
    return node.__struct_config__.tag


def service(node) -> str | None:
    if kind(node) == "api":
        return node.config.service
    if kind(node) == "tool":
        return node.config.tool
    return None


def trigger(graph: WorkflowGraph) -> str:
    t = graph.nodes[0].config.trigger
    return t.__struct_config__.tag if t else "manual"


def out_of(graph: WorkflowGraph, node_id: str) -> dict[str | None, str]:
    return {e.source_handle: e.target for e in graph.edges if e.source == node_id}


def first_condition(graph: WorkflowGraph):
    """The first condition node at the top level of the graph."""
    return next(n for n in graph.nodes if kind(n) == "condition")


def only_condition(graph: WorkflowGraph):
    """The graph's one condition node, loop bodies included (fails when there are several or none)."""
    (cond,) = [n for n in iter_all_nodes(graph) if kind(n) == "condition"]
    return cond


def test_webhook_ticket_router_is_a_three_way_switch_with_one_delivery_per_branch():
    g = build("When a support ticket arrives by webhook, route it by product area: billing tickets go to the finance queue, "
              "bug reports go to Jira, and everything else goes to the general inbox.")
    assert trigger(g) == "webhook"
    n = nodes(g)
    cls = next(x for x in n.values() if kind(x) == "llm")
    assert set(cls.config.output_schema["properties"]["category"]["enum"]) >= {"billing", "bug"}
    route = next(x for x in n.values() if kind(x) == "condition")
    assert [c.when for c in route.config.cases] == [f'nodes.{cls.id}.output.category == "billing"',
                                                    f'nodes.{cls.id}.output.category == "bug"']
    branches = out_of(g, route.id)
    assert service(n[branches["bug"]]) == "jira" and kind(n[branches["bug"]]) == "api"  # named, not a generic webhook
    assert service(n[branches["billing"]]) == "finance_queue"
    assert service(n[branches["else"]]) == "email"
    assert not any(kind(x) == "knowledge" for x in n.values())
    deliveries = [x for x in n.values() if kind(x) in ("tool", "api")]
    assert len(deliveries) == 3  # nothing added that was not asked for


def test_weekly_kpi_report_fetches_three_named_sources_in_parallel_then_writes_to_notion():
    g = build("Every Friday pull our Stripe revenue, our Google Analytics traffic and our HubSpot new leads at the same "
              "time, combine them, and write a weekly KPI report to Notion.")
    assert trigger(g) == "schedule" and g.nodes[0].config.trigger.cron == "0 9 * * 5"
    n = nodes(g)
    sources = {service(x): x.id for x in n.values() if kind(x) == "api" and x.config.method == "GET"}
    assert set(sources) == {"stripe", "google_analytics", "hubspot"}
    for sid in sources.values():  # side by side: each starts from the trigger and feeds the report
        assert out_of(g, sid) and all(e.source == "start" for e in g.edges if e.target == sid)
    notion = next(x for x in n.values() if service(x) == "notion")
    assert notion.config.method == "POST" and notion.config.url.startswith("https://api.notion.com/")
    assert not any(kind(x) == "condition" for x in n.values())


def test_chinese_news_digest_keeps_36kr_and_huxiu_and_posts_to_dingtalk():
    g = build("每天早上9点抓取36氪和虎嗅的科技新闻，用AI总结成简报，发到钉钉群")
    assert trigger(g) == "schedule" and g.nodes[0].config.trigger.cron == "0 9 * * *"
    n = nodes(g)
    feeds = {x.config.url for x in n.values() if kind(x) == "api"}
    assert any("36kr.com" in u for u in feeds) and any("huxiu.com" in u for u in feeds)
    assert not any("hacker-news" in u or "ycombinator" in u for u in feeds)
    assert [service(x) for x in n.values() if kind(x) == "tool"] == ["dingtalk"]
    assert any(kind(x) == "llm" for x in n.values())


def test_applicant_sheet_scores_then_compares_the_score_field_on_each_branch():
    g = build("when a new row is added to our applicants sheet, score the CV with an LLM; if the score is above 7 email "
              "the hiring manager, otherwise send a rejection email to the candidate")
    t = g.nodes[0].config.trigger
    assert trigger(g) == "app_event" and t.service == "google_sheets" and t.event == "new row"
    n = nodes(g)
    score = next(x for x in n.values() if kind(x) == "llm")
    assert score.config.output_schema["properties"]["score"]["type"] == "number"
    cond = next(x for x in n.values() if kind(x) == "condition")
    assert cond.config.cases[0].when == f"nodes.{score.id}.output.score > 7"  # a real comparison, not '7' in output
    branches = out_of(g, cond.id)
    then, other = n[branches[cond.config.cases[0].id]], n[branches["else"]]
    if kind(other) == "llm":  # the rejection email is written first (pilot.generation.planner_messages)
        other = n[next(iter(out_of(g, other.id).values()))]
    assert service(then) == service(other) == "email"
    # the hiring manager is configured once; the candidate is the one in the new row
    assert "hiring_manager" in then.config.arguments["to"] and other.config.arguments["to"] == "{{ inputs.event.email }}"
    assert not any(service(x) == "google_sheets" for x in n.values())  # the sheet is the trigger, not a destination


@pytest.mark.parametrize(("prompt", "op", "value"), [
    ("If the order total exceeds $1,000, email finance@acme.io", ">", "1000"),
    ("订单金额大于1000元就发钉钉给主管", ">", "1000"),
    ("if the rating is below 3 post it to #support on Slack", "<", "3"),
    ("状态为已付款的写入MySQL", "==", '"已付款"'),
])
def test_conditions_compile_to_real_comparisons(prompt, op, value):
    g = build(prompt)
    cond = next(x for x in nodes(g).values() if kind(x) == "condition")
    when = cond.config.cases[0].when
    assert f" {op} {value}" in when and " in " not in when


def test_batches_and_branch_in_loop():
    plan = planner.plan("Go through all open Stripe invoices. For each one that is more than 30 days overdue, email the "
                        "customer a payment reminder; otherwise just log it in our AR Google Sheet.")
    loop = next(s for s in plan.steps if isinstance(s, LoopStep))
    assert isinstance(plan.steps[0], SourceStep) and plan.steps[0].service == "stripe" and loop.over == plan.steps[0].id
    branch = next(s for s in loop.steps if isinstance(s, BranchStep))
    assert branch.cases[0].when.op == "gt" and branch.cases[0].when.value == 30
    assert branch.cases[0].steps[0].service == "email" and branch.otherwise[0].service == "google_sheets"
    g = build("把这批用户反馈每50条一批交给AI做情感分析，结果写回数据库")
    loop_node = next(x for x in g.nodes if kind(x) == "loop")
    assert "batch(50)" in loop_node.config.items


def test_parallel_named_sources_in_chinese_and_an_agent_with_its_tools():
    plan = planner.plan("每周一早上8点，同时拉取GitHub的新issue和Sentry的报错，汇总成周报发到飞书群")
    group = next(s for s in plan.steps if isinstance(s, ParallelStep))
    assert {b[0].service for b in group.branches} == {"github", "sentry"}
    agent = next(s for s in walk(planner.plan(
        "An AI agent that researches competitor companies using web search and Crunchbase").steps) if isinstance(s, AiStep))
    assert agent.task == "agent" and "crunchbase" in agent.tools


def test_nothing_is_added_to_a_plain_request():
    g = build("Translate this paragraph into French")
    assert [kind(x) for x in g.nodes] == ["input", "llm", "output"]
    assert trigger(g) == "manual"


def test_every_step_keeps_the_words_it_came_from():
    plan = planner.plan("Every morning at 8 summarise the top Hacker News stories and post them to Slack")
    assert all(s.quote for s in walk(plan.steps))
    g = compile_plan(plan)
    assert all(n.description for n in g.nodes if kind(n) not in ("input", "output"))


def test_no_phrase_pattern_has_an_empty_alternative():
    """An empty alternative ("a||b", "a|") matches everywhere: one once made every clause a delivery."""
    import re

    from pilot.generation import phrases

    patterns = {k: v for k, v in vars(phrases).items() if isinstance(v, re.Pattern)}
    patterns.update({f"AI_TASKS:{t}": rx for t, rx in phrases.AI_TASKS})
    patterns.update({f"DELIVER_OP:{t}": rx for t, rx in phrases.DELIVER_OP})
    for name, rx in patterns.items():
        assert rx.search("") is None or name in ("SENTENCE",), f"{name} matches the empty string"
        assert not rx.search("zzqx qqzz"), f"{name} matches unrelated text"


def deliveries(prompt: str) -> set[str]:
    """The services the plan delivers to (sources and the trigger's service are not deliveries)."""
    from pilot.generation.plan import DeliverStep

    return {s.service for s in walk(planner.plan(prompt).steps) if isinstance(s, DeliverStep)}

@pytest.mark.parametrize(
    ("prompt", "kept", "refused"),
    [
        # protecting a record ("don't touch the deal") is not refusing the notification
        ("When a HubSpot deal is marked Closed Won, post a celebration message in #sales on Slack. Don't touch the deal itself.",
         {"slack"}, {"hubspot"}),
        ("Summarise new Zendesk tickets and post them to Slack. You must not update the Zendesk tickets.", {"slack"}, {"zendesk"}),
        # 分别 ("respectively") contains 别 ("don't"): each branch still delivers
        ("用户提交反馈时，AI判断属于功能建议还是Bug，分别同步到Notion、发到飞书群", {"notion", "feishu"}, set()),
        ("每天汇总GitHub上的新issue发到Slack，先别同步到Jira", {"slack"}, {"jira"}),
        ("Summarise new Zendesk tickets and post them to Slack.", {"slack"}, {"zendesk"}),
    ],
)
def test_refusals_remove_only_what_they_name(prompt, kept, refused):
    got = deliveries(prompt)
    assert got == kept, got
    assert not refused & got


def test_yes_no_answers_put_each_action_on_its_own_side():
    for prompt in ("When an email arrives in Gmail, let AI decide whether it's a complaint. If yes, create a Zendesk ticket. "
                   "If no, forward it to sales@ by email.",
                   "有人提交反馈表单后，让AI判断是不是bug反馈；是的话在GitHub上建一个issue，不是的话给对方回一封感谢邮件"):
        branch = next(s for s in walk(planner.plan(prompt).steps) if isinstance(s, BranchStep))
        first = {d.service for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)}
        rest = {d.service for c in [*branch.cases[1:], Case(label="else", steps=branch.otherwise or [])]
                for d in walk(c.steps) if isinstance(d, DeliverStep)}
        assert len(first) == 1 and first.isdisjoint(rest) and len(rest) == 1, (first, rest)
        assert "email" in rest


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("save every new Typeform response to Airtable", ("app_event", {"airtable"})),
        ("HTTP endpoint that receives IoT sensor readings. If temperature > 30, send an alert to Telegram, else store it in MySQL.",
         ("webhook", {"telegram", "mysql"})),
        ("Create an AI agent with web search and a Postgres query tool so our analysts can ask it questions in chat.", ("chat", set())),
        ("Event registration form has a ticket type field (VIP, Standard). VIP: notify the events team on Slack. "
         "Standard: add them to our Mailchimp audience.", ("form", {"slack", "mailchimp"})),
    ],
)
def test_trigger_and_deliveries(prompt, expected):
    plan = planner.plan(prompt)
    assert (plan.trigger.__struct_config__.tag, deliveries(prompt)) == expected


def test_a_wait_after_a_send_in_the_same_clause_follows_it():
    from pilot.generation.plan import DeliverStep, WaitStep

    steps = [s for s in walk(planner.plan("新用户注册（我们后端会调webhook）后，先发一封欢迎邮件，等24小时，再通过企业微信发一条新手指南").steps)
             if isinstance(s, (DeliverStep, WaitStep))]
    assert [type(s).__name__ for s in steps] == ["DeliverStep", "WaitStep", "DeliverStep"]
    assert steps[1].duration_s == 24 * 3600


def test_every_case_of_a_sentence_per_case_switch_keeps_its_actions():
    plan = planner.plan("监控告警通过webhook推过来，按级别分流：P0发到钉钉群并@所有人；P1发到飞书群；P2只写入MySQL做记录")
    branch = next(s for s in walk(plan.steps) if isinstance(s, BranchStep))
    assert [(c.label.lower(), [d.service for d in walk(c.steps)]) for c in branch.cases] == [
        ("p0", ["dingtalk"]), ("p1", ["feishu"]), ("p2", ["mysql"])]
    plan = planner.plan("收到新邮件时用AI判断情绪是正面还是负面。正面的转发到市场部邮箱；负面的在钉钉群里告警，同时抄送主管的邮箱")
    branch = next(s for s in walk(plan.steps) if isinstance(s, BranchStep))
    assert [sorted(d.service for d in walk(c.steps) if isinstance(d, DeliverStep)) for c in branch.cases] == [["email"], ["dingtalk", "email"]]


def test_a_write_to_a_mostly_read_service_is_a_delivery():
    assert deliveries("When a refund request comes in via webhook, wait for a manager to approve it, "
                      "then issue the refund in Stripe and email the customer.") == {"stripe", "email"}


@pytest.mark.parametrize(
    ("prompt", "kept"),
    [
        # "the posts we published on WordPress" is where the newsletter comes from, Mailchimp is where it goes
        ("Every Friday at 3pm, draft our weekly newsletter from the posts we published on the WordPress blog this week. "
         "I want to approve it before it goes out through Mailchimp.", {"mailchimp"}),
        # 发货 is shipping, not sending: no extra case, no extra delivery
        ("读取飞书多维表格里所有“待发货”的订单，逐条给客户发短信，告诉他们预计的发货时间", {"sms"}),
        ("GitHub上我们项目发新Release的时候，让AI写一段中文的更新说明发到企业微信群。不要发微博，也不要发公众号", {"wecom"}),
        ("For every new email in my Gmail support inbox, sort it into billing or technical. Billing -> post it to #billing on Slack, "
         "technical -> open a Jira ticket, anything else -> forward to ops@ourco.com", {"slack", "jira", "email"}),
    ],
)
def test_only_the_services_asked_to_receive_do(prompt, kept):
    assert deliveries(prompt) == kept


def test_an_ai_recommendation_is_not_a_human_approval():
    from pilot.generation.plan import WaitStep

    plan = planner.plan("when a refund request comes in on Shopify, have AI check it against our refund policy and recommend "
                        "approve or deny. a manager has to sign off before we actually issue the refund through Stripe.")
    assert sum(isinstance(s, WaitStep) for s in walk(plan.steps)) == 1
    assert any(isinstance(s, AiStep) for s in walk(plan.steps))
    assert deliveries("I'll paste the notes after our weekly sales call. Summarize them and post to Slack.") == {"slack"}
    assert planner.plan("After our weekly sales call I'll paste the notes in. Summarize them.").trigger.__struct_config__.tag == "manual"


def test_two_phrasings_of_one_approval_make_one_wait_and_hands_in_requests_are_not_schedules():
    from pilot.generation.plan import WaitStep

    plan = planner.plan("每天下午4点让AI结合今天的热点写一条品牌微博，发之前必须经过我审核，我点通过了再发布到微博")
    assert sum(isinstance(s, WaitStep) and bool(s.approval) for s in walk(plan.steps)) == 1
    assert deliveries("每天凌晨2点把 MySQL 的订单表备份到 Google 表格。") == {"google_sheets"}
    # 明天天气 ("tomorrow's weather") is not 天天 ("every day")
    assert planner.plan("想要一个聊天助手，用户可以问它明天天气怎么样，必要时上网搜索").trigger.__struct_config__.tag == "chat"


def test_a_model_provider_runs_the_ai_step_and_receives_nothing():
    assert deliveries("Send birthday and anniversary reminders with Groq AI gift ideas to Telegram") == {"telegram"}
    assert deliveries("Send 24-hour Hacker News trends to Telegram with OpenRouter AI translation") == {"telegram"}


def test_at_the_same_time_makes_deliveries_parallel_and_a_refusal_to_notify_keeps_the_record():
    plan = planner.plan("Stripe 有新付款时，写入 Postgres 的付款表，同时给客户发短信表示感谢。")
    par = next(s for s in walk(plan.steps) if isinstance(s, ParallelStep))
    assert sorted(b[0].service for b in par.branches) == ["postgres", "sms"]
    assert deliveries("Stripe 有新的退款时，把退款金额和原因记到 Notion 的退款数据库里，不用通知任何人。") == {"notion"}
    assert deliveries("Write a Telegram-channel-style post announcing our sale. Don't publish it, I'll post it myself.") == set()


def test_an_approval_of_what_the_ai_wrote_comes_after_it():
    from pilot.generation.plan import WaitStep

    steps = [s for s in walk(planner.plan("AI 根据我的提纲生成公众号文章，先等我审核通过，再发布到微信公众号。").steps)
             if isinstance(s, (AiStep, WaitStep))]
    assert [type(s).__name__ for s in steps] == ["AiStep", "WaitStep"]


@pytest.mark.parametrize(
    ("prompt", "trigger", "kept"),
    [
        ("rewrite this cold email so it sounds less salesy. keep it under 120 words", "manual", set()),
        ("our iot sensors hit a webhook with temperature readings. insert every reading into the postgres table, "
         "and if the temp is above 80 also page ops on pagerduty", "webhook", {"postgres", "pagerduty"}),
        ("每晚11点把企业微信客户群当天的聊天记录拉出来，AI总结一下，追加一行到谷歌表格。别在群里发任何消息", "schedule", {"google_sheets"}),
        ("做个接口：前端把用户填的一段中文简历POST过来，翻译成英文后直接作为响应返回", "webhook", set()),
        ("每个交易日收盘后看一下基金净值，跌幅超过3%的用企业微信提醒我，没超过的就在腾讯文档的表格里追加一行", "schedule", {"wecom", "tencent_docs"}),
    ],
)
def test_blind7_phrasings_after_scoring(prompt, trigger, kept):
    plan = planner.plan(prompt)
    assert plan.trigger.__struct_config__.tag == trigger
    assert deliveries(prompt) == kept


def test_no_ai_anywhere_in_the_request_means_a_transform_and_no_llm_step() -> None:
    graph = build("每天晚上10点从MySQL拉当天的订单，按地区汇总金额，不要用AI，结果写进飞书多维表格")
    kinds = [kind(n) for n in iter_all_nodes(graph)]
    assert "llm" not in kinds and "agent" not in kinds
    group = next(n for n in iter_all_nodes(graph) if kind(n) == "transform")
    assert group.config.mode == "aggregate" and group.config.group_by == "item.地区"
    assert all(a.op == "count" or a.of for a in group.config.aggregates.values())  # every non-count op reads something


def test_a_comparison_without_a_comma_keeps_its_action_on_its_branch() -> None:
    graph = build("When a new lead comes in through our website form, score it 1-10 with AI; if 8 or above add it to "
                  "HubSpot and ping #sales on Slack, otherwise add it to the nurture sheet")
    n = nodes(graph)
    cond = next(x for x in n.values() if kind(x) == "condition")
    then = {e.target for e in graph.edges if e.source == cond.id and e.source_handle == cond.config.cases[0].id}
    assert {service(n[t]) for t in then} == {"hubspot"} and cond.config.cases[0].when.endswith(">= 8")


def test_fresh_requests_from_the_last_stop_read_as_asked():
    # "add them to the nurture list in Mailchimp" writes to Mailchimp (the noun "list" is not a read)
    graph = build("When a lead fills out our Typeform, score them from 1 to 10 with AI; if 8 or above create a deal "
                  "in HubSpot, otherwise add them to the nurture list in Mailchimp")
    start = nodes(graph)["start"]
    assert trigger(graph) == "app_event" and start.config.trigger.service == "typeform"
    cond = next(x for x in nodes(graph).values() if kind(x) == "condition")
    targets = {e.source_handle: nodes(graph)[e.target] for e in graph.edges if e.source == cond.id}
    assert service(targets["else"]) == "mailchimp" and targets["else"].config.method != "GET"
    # "让AI判断情绪，负面的…": one sentiment classification with its three categories, no extra analysis
    plan = planner.plan("每天晚上8点抓取小红书上关于我们品牌的笔记，让AI判断情绪，负面的发钉钉通知运营")
    ai = [s for s in walk(plan.steps) if isinstance(s, AiStep)]
    assert [(s.task, s.categories) for s in ai] == [("classify", ["正面", "中性", "负面"])]
    # a Chinese schedule runs on China time unless it names another zone
    assert plan.trigger.timezone == "Asia/Shanghai"
    assert planner.plan("every monday at 9am EST email me the sales numbers").trigger.timezone == "America/New_York"
    assert planner.plan("every monday at 9am email me the sales numbers").trigger.timezone == "UTC"


def test_a_message_in_a_messenger_is_answered_where_it_was_asked():
    plan = planner.plan("客户在企业微信发消息时，让AI回答他们的问题，答案只能来自我们上传的产品手册")
    assert plan.trigger.__struct_config__.tag == "app_event" and plan.trigger.service == "wecom"
    kinds = [(type(s).__name__, getattr(s, "service", None)) for s in plan.steps]
    assert kinds[-2:] == [("AiStep", None), ("DeliverStep", "wecom")]
    # …unless the request says not to reply, or asks in a chat window (the chat trigger)
    refused = planner.plan("企业微信收到客户新消息时，让AI回答一下，结果给我看就行，先不要自动回复客户")
    assert not [s for s in walk(refused.steps) if type(s).__name__ == "DeliverStep"]
    assert planner.plan("做一个客服机器人：用户在对话框里提问时，从产品知识库检索再回答").trigger.__struct_config__.tag == "chat"


def test_a_url_the_request_posts_or_puts_to_is_a_write_to_that_endpoint():
    graph = build("When our carrier hits a webhook with a shipment update, if the status is delivered PUT the order as "
                  "fulfilled to https://erp.acme.io/api/orders, otherwise email ops@acme.io")
    api = next(n for n in iter_all_nodes(graph) if kind(n) == "api")
    assert api.config.url == "https://erp.acme.io/api/orders" and api.config.method == "PUT"
    zh = build("退款申请会通过webhook推送过来。如果退款原因是“质量问题”，就调用 POST https://erp.example.com/api/aftersale 创建售后单，"
               "并发飞书消息通知仓库；否则就给客户发一条标准话术的短信")
    cond = next(n for n in iter_all_nodes(zh) if kind(n) == "condition")
    assert cond.config.cases[0].when.endswith("== '质量问题'") or "质量问题" in cond.config.cases[0].when
    posted = next(n for n in iter_all_nodes(zh) if kind(n) == "api" and "erp.example.com" in n.config.url)
    assert posted.config.method == "POST"
    # a URL that is only read stays a fetch
    read = build("Every morning fetch https://status.example.com/api/summary and post it to #ops on Slack")
    fetch = next(n for n in iter_all_nodes(read) if kind(n) == "api")
    assert fetch.config.method == "GET"


def test_an_ascending_amount_switch_tests_each_band_by_its_upper_bound():
    graph = build("Refund requests from our returns portal arrive via webhook. Under $50: approve automatically via the "
                  "Shopify refund API. $50 to $300: Slack message to the CS lead. Over $300: create an Asana task for finance.")
    cond = next(n for n in iter_all_nodes(graph) if kind(n) == "condition")
    whens = [c.when for c in cond.config.cases]
    assert len(whens) == 3 and whens[0].endswith("< 50") and whens[1].endswith("<= 300") and whens[2].endswith("> 300")
    # the first case writes through Shopify's API: no human approval, no read of Shopify first
    kinds = [kind(n) for n in iter_all_nodes(graph)]
    assert "wait" not in kinds and not any(kind(n) == "api" and n.config.method == "GET" for n in iter_all_nodes(graph))


def test_when_one_side_of_a_threshold_includes_it_the_other_excludes_it():
    plan = planner.plan("公众号后台每来一条用户留言（webhook推送），让AI按0-10分打分看是不是潜在客户，7分以上的把留言和联系方式同步到我们的CRM（POST接口），7分及以下的不处理")
    branch = next(s for s in walk(plan.steps) if isinstance(s, BranchStep))
    assert branch.cases[0].when.op == "gt" and branch.cases[0].when.value == 7


def _edges_from(graph: WorkflowGraph, source: str) -> dict[str | None, str]:
    return {e.source_handle: e.target for e in graph.edges if e.source == source}


def test_threshold_bands_each_get_their_action_and_a_band_left_alone_needs_none():
    graph = build("每天下午5点调POS接口读今天门店的销售额：低于5000元就发钉钉提醒店长；5000到10000之间不用管；高于10000元在企业微信群里发个喜报")
    cond = next(n for n in iter_all_nodes(graph) if kind(n) == "condition")
    assert [c.when.split("body.")[-1] for c in cond.config.cases] == ["value < 5000", "value > 10000"]
    out = _edges_from(graph, cond.id)
    assert service(nodes(graph)[out[cond.config.cases[0].id]]) == "dingtalk"
    assert service(nodes(graph)[out[cond.config.cases[1].id]]) == "wecom"
    assert kind(nodes(graph)[out["else"]]) == "output"  # between the bands: nothing is done


def test_label_arrow_action_cases_of_one_quantity_test_the_same_field():
    graph = build("at 8:30 every morning grab yesterday's error count from Sentry. more than 100 errors -> page the on-call in "
                  "PagerDuty. 20 to 100 -> warning in #eng on slack. under 20 -> just log the number in the Airtable 'Daily health' table")
    cond = next(n for n in iter_all_nodes(graph) if kind(n) == "condition")
    assert [c.when.split("body.")[-1] for c in cond.config.cases] == ["errors > 100", "errors >= 20", "errors < 20"]
    out = _edges_from(graph, cond.id)
    assert [service(nodes(graph)[out[c.id]]) for c in cond.config.cases] == ["pagerduty", "slack", "airtable"]


def test_a_read_of_only_some_rows_filters_the_read_and_works_on_each_row():
    plan = planner.plan("从飞书多维表格里读出所有状态是“待跟进”的客户，一个一个用AI写一条个性化的跟进短信，然后发给客户")
    source, loop = plan.steps[0], plan.steps[1]
    assert isinstance(source, SourceStep) and source.service == "feishu_bitable" and source.params == {"status": "待跟进"}
    assert isinstance(loop, LoopStep) and loop.over == source.id
    assert [type(s).__name__ for s in loop.steps] == ["AiStep", "DeliverStep"] and loop.steps[1].service == "sms"
    # in a loop over a table, "把状态改成…" updates that row; "判断意向高低" is a two-level classification
    plan = planner.plan("把飞书多维表格里所有状态是“待跟进”的家长线索逐条过一遍：AI根据沟通备注判断意向高低，"
                        "高意向的用飞书私信提醒负责的课程顾问，其他的把状态改成“培育中”")
    loop = next(s for s in plan.steps if isinstance(s, LoopStep))
    cls = next(s for s in loop.steps if isinstance(s, AiStep))
    branch = next(s for s in loop.steps if isinstance(s, BranchStep))
    assert cls.categories == ["高意向", "低意向"] and branch.cases[0].steps[0].service == "feishu"
    assert [(s.service, s.operation) for s in branch.otherwise] == [("feishu_bitable", "update")]


@pytest.mark.parametrize("prompt", [
    "When someone submits the contact form, save their details to Airtable and, at the same time, send a notification to #leads on Slack.",
    "Daily at 8am: search the web for news about our competitors, summarize it, then in parallel post the digest to Teams and save it to a Google Doc.",
    "每天早上9点联网搜索行业新闻，AI 总结后同时推送到企业微信群、保存到 Notion。",
])
def test_deliveries_said_to_happen_at_the_same_time_run_side_by_side(prompt):
    plan = planner.plan(prompt)
    group = plan.steps[-1]
    assert isinstance(group, ParallelStep) and len(group.branches) == 2
    assert all(type(b[0]).__name__ == "DeliverStep" for b in group.branches)


def test_an_approval_and_its_outcomes_in_one_sentence_branch_on_the_decision():
    plan = planner.plan("请假申请表提交后，在系统里等主管审批：通过了就加到团队的 Google 日历，驳回就给员工发邮件说明原因。")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert branch.on == "approval" and [s.service for s in branch.cases[0].steps] == ["google_calendar"]
    assert [s.service for s in branch.otherwise] == ["email"]
    plan = planner.plan("员工提交请假申请表单后，先等直属主管审批，审批通过就写入考勤系统，并在企业微信里通知本人；被驳回就发邮件告诉他原因")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [s.service for s in branch.cases[0].steps] == ["考勤系统", "wecom"]


def test_an_event_threshold_is_the_condition_of_what_follows():
    plan = planner.plan("When a new Shopify order over $500 comes in, text our sales manager by SMS; for smaller orders do nothing.")
    branch = plan.steps[0]
    assert isinstance(branch, BranchStep) and (branch.cases[0].when.op, branch.cases[0].when.value) == ("gt", 500)
    assert [s.service for s in branch.cases[0].steps] == ["sms"] and not branch.otherwise
    # "a new issue is opened" is the event, not a threshold
    assert not any(isinstance(s, BranchStep) for s in planner.plan("When a new issue is opened in GitHub, summarise it in #dev on Slack").steps)


def test_everything_before_the_else_belongs_to_the_case():
    plan = planner.plan("When a new Google review comes in with a rating below 3, alert the store manager on Telegram and have AI "
                        "draft a reply for them; otherwise post an automatic thank-you reply to the review.")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [type(s).__name__ for s in branch.cases[0].steps] == ["DeliverStep", "AiStep"] and branch.otherwise


def test_a_threshold_that_needs_approval_guards_only_the_approval():
    plan = planner.plan("Expense claim form: claims over $1,000 first need a finance manager's approval; every claim then gets recorded in Xero.")
    branch, record = plan.steps
    assert isinstance(branch, BranchStep) and (branch.cases[0].when.op, branch.cases[0].when.value) == ("gt", 1000)
    assert [type(s).__name__ for s in branch.cases[0].steps] == ["WaitStep"] and not branch.otherwise
    assert type(record).__name__ == "DeliverStep" and record.service == "xero"  # every claim, once per form submission


def test_symbolic_thresholds_in_chinese_are_separate_cases():
    plan = planner.plan("NPS 问卷结果通过 webhook 推送：分数 <= 6 就在 Slack 的 #cs 频道报警，>= 9 就发邮件邀请他写推荐语，其余不处理。")
    branch = plan.steps[0]
    assert [(c.when.op, c.when.value, [s.service for s in c.steps]) for c in branch.cases] == [
        ("le", 6, ["slack"]), ("ge", 9, ["email"])]
    assert not any(isinstance(s, AiStep) for s in walk(plan.steps))  # "推荐语" is what the customer writes


def test_grades_named_in_turn_are_the_cases_of_a_classification():
    plan = planner.plan("新客户数据通过 webhook 进来后分级：A类客户（年消费10万以上）发飞书消息给大客户经理；B类客户发营销邮件；C类客户不处理。")
    cls, branch = plan.steps
    assert isinstance(cls, AiStep) and cls.categories == ["a类", "b类", "c类"]
    assert [[s.service for s in c.steps] for c in branch.cases] == [["feishu"], ["email"], []]


def test_the_other_side_of_a_yes_no_case_reaches_me_the_same_way():
    plan = planner.plan("每天早上6点查一下今天的天气预报，要是会下雨就在微信上提醒我带伞，不下雨就给我发一句早安")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [s.service for s in branch.cases[0].steps] == ["wechat"] and [s.service for s in branch.otherwise] == ["wechat"]


def test_things_searched_at_the_same_time_are_each_read():
    group = planner.plan("竞品调研：输入一个竞品名字，同时搜它的官网介绍、知乎上的讨论和微博上的舆情，汇总后让AI写一份对比分析报告").steps[0]
    assert isinstance(group, ParallelStep)
    read = sorted(b[0].service or b[0].from_ for b in group.branches)
    assert read == ["url", "weibo", "zhihu"]  # the company's own site is a page fetched from its URL
    group = planner.plan("每天早上9点，同时抓36氪的最新科技新闻和网上关于“大模型”的搜索结果，让AI合并总结成5条要点，发到飞书群").steps[0]
    assert sorted(b[0].service or b[0].from_ for b in group.branches) == ["kr36", "web_search"]


@pytest.mark.parametrize("prompt", [
    "For each URL in this list, fetch the page, summarize it with AI and add the summary as a page in Notion.",
    "Go through the list of URLs I paste in, scrape each page, summarize it, and save one row per page (url + summary) into a Google Sheet.",
])
def test_each_page_of_a_list_of_urls_is_fetched_inside_the_loop(prompt):
    graph = build(prompt)
    loop = next(n for n in graph.nodes if kind(n) == "loop")
    assert not any(kind(n) == "api" and n.config.method == "GET" for n in graph.nodes)  # nothing fetched before it
    fetches = [n for n in loop.config.body.nodes if kind(n) == "api" and n.config.method == "GET"]
    assert len(fetches) == 1 and fetches[0].config.url == "{{ item }}"


def test_a_message_described_as_polite_is_written_by_ai_and_sent():
    plan = planner.plan("When Stripe sends us a payment_failed webhook, email the customer a polite reminder to update their card "
                        "and post a short note in #billing on Slack.")
    kinds = [(type(s).__name__, getattr(s, "service", None), getattr(s, "operation", None)) for s in plan.steps]
    assert kinds[0] == ("AiStep", None, None) and ("DeliverStep", "email", "send") in kinds


def test_numbered_steps_after_a_trigger_and_approvals_in_their_place():
    plan = planner.plan("1) someone registers for our webinar through the signup form 2) add them to the 'Webinar Oct' table in Airtable "
                        "3) send a confirmation email with the Zoom link 4) wait 2 days 5) send a reminder email")
    assert trigger(compile_plan(plan)) == "form"
    # the confirmation and the reminder are written before they are sent (pilot.generation.planner_messages)
    assert [type(s).__name__ for s in plan.steps] == ["DeliverStep", "AiStep", "DeliverStep", "WaitStep", "AiStep", "DeliverStep"]
    # what the AI writes is approved before it is published, not before it is written
    plan = planner.plan("Generate a blog post with AI from my outline, but ask me for approval before it gets published to WordPress.")
    assert [type(s).__name__ for s in plan.steps] == ["AiStep", "WaitStep", "DeliverStep"] and plan.steps[1].approval
    # waiting for a person to approve or reject is an approval, and the decision is branched on
    plan = planner.plan("Leave request form -> wait for the employee's manager to approve or reject -> if approved, add the leave to "
                        "the team's Google Calendar; if rejected, email the employee to let them know.")
    assert plan.steps[0].approval and isinstance(plan.steps[1], BranchStep) and plan.steps[1].on == plan.steps[0].id


def test_a_later_step_waits_and_a_check_after_a_wait_reads_the_state_again():
    plan = planner.plan("客户在官网提交试用申请表后，立刻给他发一封欢迎邮件，7 天后再发一封邮件问问试用体验怎么样。")
    assert [type(s).__name__ for s in plan.steps] == ["AiStep", "DeliverStep", "WaitStep", "DeliverStep"]  # the welcome is written
    assert plan.steps[2].duration_s == 7 * 86400
    plan = planner.plan("有赞订单付款成功后，先等2个小时，到时候如果还没发货，就在企业微信里提醒仓库同事")
    wait, read, cls, branch = plan.steps
    assert wait.duration_s == 7200 and (read.service, read.operation) == ("youzan", "get")
    assert [s.service for s in branch.cases[0].steps] == ["wecom"]
    # a case that sends without naming how goes the way the request already sends
    plan = planner.plan("用户在小程序注册成功后我们后端会调一个webhook。先给他发条欢迎短信，等24小时，如果他还没下过单，就给他发一张新人优惠券")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [s.service for s in branch.cases[0].steps] == ["sms"]


def test_a_system_read_after_a_wait_and_a_greeting_to_the_person_of_the_event():
    plan = planner.plan("设备报修单通过webhook进来以后，先发钉钉通知维修组，等4个小时再去工单系统查这单有没有人接，还没人接的话就打电话通知维修主管")
    assert [type(s).__name__ for s in plan.steps[:3]] == ["DeliverStep", "WaitStep", "SourceStep"] and plan.steps[2].service == "工单系统"
    branch = plan.steps[-1]
    assert isinstance(branch, BranchStep) and [s.service for s in branch.cases[0].steps] == ["phone_call"]
    plan = planner.plan("企业微信有新客户加好友的时候，自动给他发一段欢迎语，同时把客户信息存到Salesforce里")
    assert sorted(b[0].service for b in plan.steps[0].branches) == ["salesforce", "wecom"]


def test_a_list_the_ai_pulls_out_is_what_the_loop_goes_over():
    graph = build("把下面这段会议纪要整理成待办清单，然后为每个待办在Jira里创建一个任务。")
    extract = next(n for n in graph.nodes if kind(n) == "llm")
    assert extract.config.output_schema["properties"]["items"]["type"] == "array"
    loop = next(n for n in graph.nodes if kind(n) == "loop")
    assert loop.config.items == "{{ nodes.%s.output.items }}" % extract.id
    assert [service(n) for n in loop.config.body.nodes if kind(n) == "api"] == ["jira"]


def test_a_classification_written_back_to_the_row_updates_it():
    plan = planner.plan("Google表格新增一行客户反馈时，用AI把它归类成产品、服务、价格或其他，然后把分类结果写回这一行")
    cls, write = plan.steps
    assert cls.categories == ["产品", "服务", "价格"] and (write.service, write.operation) == ("google_sheets", "update")


def test_a_loop_over_a_named_table_reads_it_and_tests_each_row():
    graph = build("每天上午9点把应收账款表里的欠款逐笔过一遍：逾期超过60天的发邮件给法务处理，没超过60天的给客户发一条催款短信")
    source = next(n for n in graph.nodes if kind(n) == "api")
    loop = next(n for n in graph.nodes if kind(n) == "loop")
    assert planner.plan("每天上午9点把应收账款表里的欠款逐笔过一遍：逾期超过60天的发邮件给法务处理").steps[0].service == "应收账款表"
    assert loop.config.items == "{{ nodes.%s.output.body }}" % source.id
    cond = next(n for n in loop.config.body.nodes if kind(n) == "condition")
    assert cond.config.cases[0].when == "item.value > 60"


def test_an_approval_asked_in_the_event_sentence_and_a_feed_read():
    plan = planner.plan("Expense reimbursement form: when an employee submits a claim it needs their manager's approval. Once approved, "
                        "create the bill in QuickBooks and email the employee that it's been approved.")
    assert type(plan.steps[0]).__name__ == "WaitStep" and plan.steps[0].approval
    assert [s.service for s in plan.steps[1:]] == ["quickbooks", "email"]
    plan = planner.plan("Every weekday at 10am, draft a tweet from the newest post in our blog's RSS feed. Wait for me to approve it, "
                        "and only then publish it to X.")
    assert (plan.steps[0].from_, plan.steps[0].url) == ("url", "{{ inputs.feed_url }}")
    assert [type(s).__name__ for s in plan.steps[1:]] == ["AiStep", "WaitStep", "DeliverStep"]


def test_a_category_named_like_the_else_side_is_still_a_case():
    plan = planner.plan("每天下午6点汇总当天所有客服工单，让AI判断今天的整体情况是 正常、需关注 还是 严重：正常就发到飞书群，"
                        "需关注就发邮件给客服主管，严重的话直接钉钉通知总经理")
    assert plan.steps[0].service == "客服工单"  # the day's tickets are read first
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [(c.label, [s.service for s in c.steps]) for c in branch.cases] == [
        ("正常", ["feishu"]), ("需关注", ["email"]), ("严重", ["dingtalk"])]


def test_a_time_right_after_the_schedule_is_part_of_it_not_a_case():
    plan = planner.plan('every friday 4pm post a reminder in #general on slack: "Please submit your timesheets before you log off!"')
    assert plan.trigger.cron == "0 16 * * 5" and [type(s).__name__ for s in plan.steps] == ["DeliverStep"]


def test_a_category_in_y_is_matched_by_its_plural():
    plan = planner.plan("When a new email lands in the support@ inbox, classify it as order issue, partnership inquiry or job application. "
                        "Order issues become a Zendesk ticket, partnership inquiries get added to the Partners table in Airtable, "
                        "job applications are forwarded to hr@ourco.com.")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [(c.label, [s.service for s in c.steps]) for c in branch.cases] == [
        ("order issue", ["zendesk"]), ("partnership inquiry", ["airtable"]), ("job application", ["email"])]


def test_import_into_a_database_writes_and_a_group_chat_history_is_read():
    plan = planner.plan("把这个CSV里的日期格式统一成 YYYY-MM-DD，然后导入到 Postgres 的 orders 表")
    assert [(type(s).__name__, getattr(s, "service", None)) for s in plan.steps] == [("TransformStep", None), ("DeliverStep", "postgres")]
    plan = planner.plan("每天下午6点，把当天企业微信客户群里的聊天记录总结成要点，存到飞书文档里。")
    assert [getattr(s, "service", None) for s in plan.steps] == ["wecom", None, "feishu_docs"]


def test_a_read_then_a_test_of_what_it_returned():
    plan = planner.plan("每天凌晨2点调用一下我们服务的健康检查接口，返回的status不等于ok的话就往钉钉群发告警，正常就不用管")
    read, branch = plan.steps
    assert isinstance(read, SourceStep) and isinstance(branch, BranchStep)
    assert (branch.cases[0].when.subject, branch.cases[0].when.op, branch.cases[0].when.value) == (read.id, "ne", "ok")


def test_chinese_switch_labels_without_their_field_and_adverbs():
    plan = planner.plan("GitHub上有新issue时按标签分流：标签是bug的同步到飞书项目群，标签是feature的记到Notion需求池，"
                        "标签是question的让AI先写个回复草稿，发邮件给我")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [(c.label, [type(s).__name__ for s in c.steps]) for c in branch.cases] == [
        ("bug", ["DeliverStep"]), ("feature", ["DeliverStep"]), ("question", ["AiStep", "DeliverStep"])]
    plan = planner.plan("用户在聊天窗口留言后，根据情绪分别处理：正面的记到 Google 表格，负面的马上发 Slack 提醒客服主管。")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [(c.label, [s.service for s in c.steps]) for c in branch.cases] == [("正面", ["google_sheets"]), ("负面", ["slack"])]


def test_every_listed_chinese_case_lands_in_one_switch():
    plan = planner.plan("客户工单通过 webhook 进来后，按紧急程度分流：紧急的发短信给值班工程师，一般的发到企业微信群，低优先级的建成 Jira 待办。")
    branches = [s for s in plan.steps if isinstance(s, BranchStep)]
    assert len(branches) == 1 and [(c.label, [s.service for s in c.steps]) for c in branches[0].cases] == [
        ("紧急", ["sms"]), ("一般", ["wecom"]), ("低优先级", ["jira"])]


def test_no_ai_said_casually_in_chinese_means_no_ai_step():
    plan = planner.plan("把这段JSON里的字段名从驼峰全部改成下划线格式，别用AI，写个代码处理就行")
    assert not any(isinstance(s, AiStep) for s in walk(plan.steps))
    # "门店每天的营业数据" describes the data, it is no schedule
    assert build("门店每天的营业数据会记在腾讯文档的表格里，如果营业额低于8000，就在企业微信群里提醒店长").nodes[0].config.trigger is None \
        or trigger(build("门店每天的营业数据会记在腾讯文档的表格里，如果营业额低于8000，就在企业微信群里提醒店长")) != "schedule"


def test_a_threshold_case_that_waits_for_approval_holds_the_decision_branch():
    plan = planner.plan("客户在有赞退款的时候，金额超过500元的先等店长审批，审批通过就调用有赞的退款接口退款，驳回就给客户发短信说明原因")
    branch = plan.steps[0]
    case = branch.cases[0]
    assert (case.when.op, case.when.value) == ("gt", 500)
    wait, decision = case.steps
    assert wait.approval and isinstance(decision, BranchStep) and decision.on == wait.id
    assert [s.service for s in decision.otherwise] == ["sms"]


def test_counted_tasks_waits_for_approval_greetings_and_extraction_in_chinese():
    plan = planner.plan("用户提交活动报名表单后，同时做两件事：给他发一封报名确认邮件，再把报名信息存到飞书多维表格")
    assert isinstance(plan.steps[0], ParallelStep) and sorted(b[-1].service for b in plan.steps[0].branches) == ["email", "feishu_bitable"]
    plan = planner.plan("每周五下午5点，根据Jira里这周完成的任务让AI写一份周报，等我审批通过后再发到钉钉群")
    assert [type(s).__name__ for s in plan.steps] == ["SourceStep", "AiStep", "WaitStep", "DeliverStep"]
    plan = planner.plan("Telegram群里有新成员加入时，发一条欢迎消息，并把他的用户名和加入时间记到Notion的社群成员表里")
    assert [s.service for s in plan.steps if isinstance(s, DeliverStep)] == ["telegram", "notion"]
    plan = planner.plan("仓库每次出库都会推一个webhook，内容是一段格式很乱的文本 -> 用AI抽出运单号、收件人、件数、重量 -> 写入我们的MySQL数据库")
    assert plan.steps[0].task == "extract" and [f.description for f in plan.steps[0].fields] == ["运单号", "收件人", "件数", "重量"]


def test_a_per_person_send_batched_by_a_later_remark_is_one_batched_loop():
    plan = planner.plan("每天下午5点从诊所HIS系统的接口拉取明天有预约的患者名单，给每位患者发预约提醒短信。短信接口有限流，按100人一批发。")
    source, loop = plan.steps
    assert isinstance(loop, LoopStep) and loop.over == source.id and loop.batch_size == 100
    assert [(type(s).__name__, s.service) for s in loop.steps] == [("DeliverStep", "sms")]
    # a possessive before "posts" makes it the noun; "gets pushed to our webhook" is how the run starts
    plan = planner.plan("Every Friday at 4pm, draft our weekly newsletter from this week's posts in the Notion 'Blog' database, "
                        "then wait for my approval before it gets sent out via Mailchimp.")
    assert [getattr(s, "service", None) for s in plan.steps if type(s).__name__ == "DeliverStep"] == ["mailchimp"]
    assert trigger(build("Each new app store review gets pushed to our webhook. Have AI summarize it.")) == "webhook"


def test_what_an_agent_can_call_are_its_tools_not_steps():
    plan = planner.plan("I want a chat agent for our on-call engineers. They ask stuff like 'is the payments service healthy?' or "
                        "'what incidents did we have this week' and the agent can call our status page API and search Jira to answer.")
    agent = plan.steps[0]
    assert agent.task == "agent" and "statuspage" in agent.tools
    assert not any(type(s).__name__ == "DeliverStep" for s in walk(plan.steps))  # nothing is written


def test_a_chinese_level_switch_whose_first_case_has_two_actions():
    plan = planner.plan("Prometheus的告警会通过webhook推过来，按告警级别处理：critical 的打语音电话通知值班人并且发钉钉群；"
                        "warning 的只发钉钉群；info 的只写进日志表，不发通知。")
    branch = plan.steps[0]
    assert [(c.label, [s.service for s in c.steps]) for c in branch.cases] == [
        ("critical", ["phone_call", "dingtalk"]), ("warning", ["dingtalk"]), ("info", ["日志表"])]
    assert branch.cases[2].steps[0].operation == "upsert"


def test_a_named_api_called_to_act_and_a_lookup_only_name_before_its_data():
    plan = planner.plan("Jenkins构建成功后会调我们的webhook，然后等运维负责人审批：同意就调部署接口发布到生产环境，拒绝就在飞书群里说一声这次发布取消了。")
    branch = next(s for s in plan.steps if isinstance(s, BranchStep))
    assert [type(s).__name__ for s in branch.cases[0].steps] == ["DeliverStep"] and [s.service for s in branch.otherwise] == ["feishu"]
    plan = planner.plan("每月1号上午10点，分别从Stripe和有赞拉取上个月的收入数据，让AI生成一份月度收入报告，发邮件给财务，同时存一份到Notion")
    assert sorted(b[0].service for b in plan.steps[0].branches) == ["stripe", "youzan"]


def test_where_data_is_kept_is_not_a_write():
    plan = planner.plan("门店每天的营业数据会记在腾讯文档的表格里，新加一行的时候，如果当天营业额低于8000，就在企业微信群里提醒店长")
    writes = [s.service for s in walk(plan.steps) if type(s).__name__ == "DeliverStep"]
    assert writes == ["wecom"]  # nothing is appended to the table the data already lives in


def delivered_only_on(graph: WorkflowGraph, label: str) -> set[str]:
    """The services reached from the condition case whose comparison names ``label``, asserting the
    condition has no other case (the else branch delivers nothing)."""
    cond = next(n for n in iter_all_nodes(graph) if kind(n) == "condition")
    (case,) = cond.config.cases
    assert label in case.when
    reached, todo = set(), [e.target for e in graph.edges if e.source == cond.id and e.source_handle == case.id]
    while todo:
        node = nodes(graph)[todo.pop()]
        reached.add(service(node))
        todo += [e.target for e in graph.edges if e.source == node.id]
    else_targets = [nodes(graph)[e.target] for e in graph.edges if e.source == cond.id and e.source_handle == "else"]
    assert all(kind(n) == "output" for n in else_targets)
    return reached - {None}


@pytest.mark.parametrize("prompt, label, svc", [
    # the classification and the delivery of one of its categories in one clause
    ("每天晚上10点抓取小红书上关于我们品牌的笔记，情感分析后把负面的推送到钉钉群", "负面", "dingtalk"),
    ("每天晚上10点抓取小红书上关于我们品牌的笔记，情感分析后只把负面的推送到钉钉群", "负面", "dingtalk"),
    ("Every morning pull new reviews from our Shopify store, run sentiment analysis and send only the negative ones to Slack",
     "negative", "slack"),
])
def test_only_the_category_picked_out_is_delivered(prompt, label, svc):
    assert delivered_only_on(build(prompt), label) == {svc}


@pytest.mark.parametrize("prompt, calls", [
    ("When a customer submits our refund request form, refund the payment in Stripe and then email them a confirmation",
     [("stripe", "POST", "/v1/refunds"), ("email", None, None)]),
    ("用户在表单提交退款申请时，先让主管在飞书审批，通过后用Stripe退款并发邮件通知客户",
     [("stripe", "POST", "/v1/refunds"), ("email", None, None)]),
    ("When a Jira issue is resolved, archive its card on our Trello board.", [("trello", "PUT", "?closed=true")]),
    ("New PR opened on GitHub: have AI review the diff and leave a comment on the PR, then post in #dev on Slack",
     [("github", "POST", "/comments"), ("slack", None, None)]),
    # a messenger has no refund: "refund requests" are sent to it
    ("Every morning summarise yesterday's refunds from Stripe and post the summary to #billing in Slack",
     [("slack", None, None)]),
])
def test_a_service_does_what_the_request_names(prompt, calls):
    graph = build(prompt)
    done = [n for n in iter_all_nodes(graph) if kind(n) in ("api", "tool") and (kind(n) == "tool" or n.config.method != "GET")]
    assert [service(n) for n in done] == [c[0] for c in calls]  # in the order the request asks
    for node, (_svc, method, url_part) in zip(done, calls):
        if method is not None:
            assert node.config.method == method and url_part in node.config.url, node.config
    # the refund is not addressed to the customer the email goes to
    assert all("客户" not in n.title for n in done if service(n) == "stripe")


@pytest.mark.parametrize("prompt, service, event", [
    ("If a GitHub issue is labelled bug, create a Jira ticket; if it is labelled question, reply on the issue with an AI answer",
     "github", "issue labelled"),
    ("Once a PR is merged on GitHub, close the issues it references and drop a message in #dev on Slack.",
     "github", "pull request merged"),
    ("When a Jira issue is resolved, archive its card on our Trello board.", "jira", "issue resolved"),
    ("When a Zendesk ticket gets the tag 'cancel', cancel that customer's subscription in Stripe", "zendesk", "ticket tagged"),
    ("When a Shopify order over $500 comes in, post it in our #vip-orders Slack channel", "shopify", "new order"),
    ("GitHub 上的 PR 合并之后，把它关联的 Jira 工单状态改为已完成，然后在钉钉群里说一声。", "github", "pull request merged"),
    ("客户在 Shopify 取消订单时，去 Stripe 把他的订阅也取消掉，再用企业微信通知他的客户经理。", "shopify", "order cancelled"),
])
def test_a_record_changing_state_in_a_named_app_is_the_event(prompt, service, event):
    t = planner.plan(prompt).trigger
    assert (t.__struct_config__.tag, t.service, t.event) == ("app_event", service, event)


@pytest.mark.parametrize("prompt", [
    "If the order total is paid, send a thank-you email",  # no app named: a condition, not an event
    "If it is labelled urgent, post it to #ops on Slack",  # a messenger is not an app whose records change
])
def test_a_state_change_without_an_app_is_no_event(prompt):
    assert planner.plan(prompt).trigger.__struct_config__.tag != "app_event"


def test_the_value_an_event_set_is_a_case_only_beside_another_case_of_it():
    graph = build("If a GitHub issue is labelled bug, create a Jira ticket; if it is labelled question, reply on the issue "
                  "with an AI answer")
    cond = next(n for n in iter_all_nodes(graph) if kind(n) == "condition")
    assert [c.when.split("==")[1].strip().strip("'\"") for c in cond.config.cases] == ["bug", "question"]
    targets = out_of(graph, cond.id)
    assert service(nodes(graph)[targets[cond.config.cases[0].id]]) == "jira"
    replies = [n for n in iter_all_nodes(graph) if service(n) == "github"]
    assert [n.config.operation for n in replies] == ["comment"]
    # "moves to Done" with no other status named is the event itself; the priority is the only test
    alone = build("When a Jira issue moves to Done, post it in #releases on Slack. If its priority is Highest, also email "
                  "the product manager.")
    cond = only_condition(alone)
    assert [c.when for c in cond.config.cases] == ['inputs.event.priority == "Highest"']  # what the app's event filled


@pytest.mark.parametrize("prompt, label, svc", [
    ("Every Monday at 9am, read last week's rows from the 'Survey responses' Google Sheet, classify each comment as praise, "
     "complaint or suggestion, and add only the suggestions as cards on our Trello 'Ideas' board.", "suggestion", "trello"),
    ("Every hour, grab the new posts from r/ourproduct on Reddit. Classify each post as bug, feature or other, and turn only "
     "the bugs into issues in our Linear team.", "bug", "linear"),
    ("At 6pm every day, go through today's emails in our support@ Gmail inbox, classify each one as urgent or not urgent, "
     "and send me a Slack DM for every urgent one.", "urgent", "slack"),
    ("new gmail email -> decide if it's urgent. just the urgent emails get forwarded to me on telegram", "urgent", "telegram"),
    ("收到新邮件时让AI判断一下紧不紧急，只有紧急的才转发到我的企业微信。", "紧急", "wecom"),
])
def test_a_delivery_of_only_some_categories_sits_on_that_branch(prompt, label, svc):
    from pilot.generation.plan import DeliverStep

    plan = planner.plan(prompt)
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert [c.label for c in branch.cases] == [label] and not branch.otherwise
    inside = [s for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)]
    everywhere = [s for s in walk(plan.steps) if isinstance(s, DeliverStep)]
    assert [d.service for d in inside] == [svc] and len(everywhere) == 1
    # the category list stops where the action starts
    cls = next(s for s in walk(plan.steps) if isinstance(s, AiStep) and s.task == "classify")
    assert all(len(c.split()) <= 2 for c in cls.categories)


@pytest.mark.parametrize("prompt, service, action", [
    ("When a Zendesk ticket gets the tag 'cancel', cancel that customer's subscription in Stripe and add an internal note "
     "to the ticket saying it was done.", "stripe", "cancel"),
    ("Once a PR is merged on GitHub, close the issues it references and drop a message in #dev on Slack.", "github", "close"),
    ("客户在 Shopify 取消订单时，去 Stripe 把他的订阅也取消掉，再用企业微信通知他的客户经理。", "stripe", "cancel"),
    ("客户提交退款申请表单后，让AI判断退款理由合不合理。合理的直接在Stripe里退款，并发邮件告诉客户；不合理的发飞书消息给客服", "stripe", "refund"),
    ("GitHub 有新 issue 时，让 AI 判断是前端问题还是后端问题：前端的给 issue 打上 frontend 标签，后端的打上 backend 标签。", "github", "label"),
])
def test_a_service_asked_for_its_own_action_is_written_to(prompt, service, action):
    from pilot.generation.plan import DeliverStep

    done = [(s.service, s.action) for s in walk(planner.plan(prompt).steps) if isinstance(s, DeliverStep)]
    assert (service, action) in done


@pytest.mark.parametrize("prompt", [
    # nouns and states, not actions: what is read stays read
    "每月1号早上9点，从Stripe拉上个月的收入、退款和新增订阅数据，让AI写一份财务月报，邮件发给老板",
    "Every Monday pull last week's refunds and cancelled subscriptions from Stripe and email me a summary",
    "每周五下午5点，把本周所有已关闭的Jira工单逐条让AI写一句话总结，然后汇总成周报发到飞书群",
    "Label the tone of this customer email as angry, neutral or happy. Just the label pls.",
])
def test_a_noun_or_a_state_is_no_action(prompt):
    from pilot.generation.plan import DeliverStep

    assert not [s.action for s in walk(planner.plan(prompt).steps) if isinstance(s, DeliverStep) and s.action]


def test_a_threshold_with_thousands_and_its_other_side_named_by_that():
    graph = build("Our payment provider calls a webhook every time a charge fails. If the amount is $1,000 or more, create a "
                  "task in HubSpot for the account owner to call the customer. Below that, just email the customer asking "
                  "them to update their card.")
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == ["inputs.payload.amount >= 1000"]
    targets = out_of(graph, cond.id)
    assert service(nodes(graph)[targets["else"]]) == "email" and not [n for n in iter_all_nodes(graph) if kind(n) == "llm"]
    assert nodes(graph)[targets["else"]].config.arguments["to"] == "{{ inputs.payload.email }}"  # the charge's customer


@pytest.mark.parametrize("prompt, when", [
    ("Score every new Intercom conversation for churn risk on a 1-10 scale, and only when the score is above 7 create a task "
     "in HubSpot for the account manager.", "nodes.score.output.score > 7"),
    ("Go through the 50 most recently created contacts in HubSpot and have AI score each one's lead quality from 0 to 100. "
     "For the ones scoring 80 or higher, update their lifecycle stage in HubSpot to 'Sales Qualified Lead'.",
     "nodes.score.output.score >= 80"),
    ("ERP 每次库存变动都会调我们的 webhook。库存低于10件时，在钉钉里通知采购补货，并在飞书多维表格里把这个商品的状态改成“缺货”。",
     "inputs.payload.stock < 10"),
])
def test_a_threshold_phrased_as_only_when_for_the_ones_or_shi_is_a_condition(prompt, when):
    graph = build(prompt)
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == [when]
    # one AI step at most, and no write to the service the items come from
    assert len([n for n in iter_all_nodes(graph) if kind(n) == "llm"]) <= 1
    assert not [n for n in iter_all_nodes(graph) if service(n) == "intercom"]


@pytest.mark.parametrize("prompt, service, action", [
    ("有客户加我们企业微信好友时，自动在企业微信里给客户发一条欢迎语，再给他打上“新客户”标签。", "wecom", "label"),
    ("有赞订单发货后，在有赞里给这个订单加一条备注“已同步ERP”，然后把订单号和物流单号追加到谷歌表格里。", "youzan", "comment"),
    ("Zendesk 工单收到客户差评时，在 Zendesk 里把这个工单重新打开，然后在钉钉上提醒客服主管看一下。", "zendesk", "reopen"),
    ("Every Friday at 5pm, find Salesforce opportunities nobody has touched in 30 days, reassign them to the sales manager "
     "in Salesforce, and post a summary of what was reassigned in #sales on Slack.", "salesforce", "assign"),
])
def test_more_services_do_their_own_actions(prompt, service, action):
    from pilot.generation.plan import DeliverStep

    plan = planner.plan(prompt)
    done = [(s.service, s.action) for s in walk(plan.steps) if isinstance(s, DeliverStep)]
    assert (service, action) in done
    # a messenger's other deliveries are still plain sends
    assert all(a is None for s, a in done if (s, a) != (service, action))


def test_the_others_doing_nothing_refuses_nothing():
    from pilot.generation.plan import DeliverStep

    plan = planner.plan("每天晚上8点搜一下当天知乎上提到我们品牌的回答，逐条判断是正面、中性还是负面，负面的一条一条发到企业微信群，其他的不用发。")
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert [c.label for c in branch.cases] == ["负面"]
    assert [s.service for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)] == ["wecom"]
    assert next(s for s in walk(plan.steps) if isinstance(s, AiStep)).categories == ["正面", "中性", "负面"]


def test_every_write_of_the_events_sentence_sits_on_its_threshold_branch():
    from pilot.generation.plan import DeliverStep

    plan = planner.plan("When a Shopify order over $500 comes in, post it in our #vip-orders Slack channel and tag the customer "
                        "as VIP in Shopify.")
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    inside = [(s.service, s.action) for s in walk(branch.cases[0].steps) if isinstance(s, DeliverStep)]
    assert inside == [("slack", None), ("shopify", "label")] and not branch.otherwise
    assert not [s for s in walk(plan.steps) if isinstance(s, AiStep)]  # the tag is given: nothing to classify


def test_refusing_to_post_keeps_what_is_saved():
    assert deliveries("every morning grab the top 10 hacker news posts, summarize each one in a sentence and save them to my "
                      "Notion reading list. don't post it anywhere, just save it") == {"notion"}
    assert deliveries("每天下午6点看一下微博热搜前20，让AI挑出跟新能源汽车相关的条目，存到我的Notion就行，不要发到任何群里") == {"notion"}
    # "don't post anything" still refuses every delivery
    assert deliveries("Read our latest blog post at https://example.com/blog/launch and draft three LinkedIn post ideas "
                      "based on it. Don't post anything.") == set()


def test_what_other_people_do_is_the_event_not_a_step():
    graph = build("Ops request router. People post requests in our Slack #ops-help channel. For each new message, the AI "
                  "classifies it as 'IT', 'facilities' or 'HR'. IT → Jira ticket in the ITSUP project; facilities → email "
                  "facilities@company.com; HR → Asana task on the People board. Anything else → reply in the Slack thread "
                  "asking them to clarify.")
    cond = only_condition(graph)
    assert len(cond.config.cases) == 3 and len([n for n in iter_all_nodes(graph) if kind(n) == "llm"]) == 1
    assert service(nodes(graph)[out_of(graph, cond.id)["else"]]) == "slack"
    # "set the ticket priority to urgent in Zendesk" updates the ticket in Zendesk
    zd = build("New Zendesk ticket -> AI sentiment score from -1 to 1 -> if it's below -0.5, set the ticket priority to "
               "urgent in Zendesk and ping #support-leads on Slack")
    assert [n.config.method for n in iter_all_nodes(zd) if service(n) == "zendesk"] == ["PUT"]


def test_linear_by_its_bare_name_and_a_style_reference_is_no_service():
    assert "linear" in deliveries("New issue opened in our GitHub repo → have AI decide whether it's a bug or a question. "
                                  "Bugs: create a matching issue in Linear. Questions: post a comment on the GitHub issue.")
    plan = planner.plan("Write release notes for v2.3 from the commit messages below, formatted like Linear's changelog.")
    assert not [s for s in walk(plan.steps) if isinstance(s, SourceStep)]


@pytest.mark.parametrize("prompt, service", [
    ("有赞有新的退款申请时，让AI判断理由是否合理，合理的直接在有赞里同意退款，不合理的转给客服在企业微信里处理", "youzan"),
    ("客户提交退款申请表单后，让AI判断退款理由合不合理。合理的直接在Stripe里退款，并发邮件告诉客户；不合理的发飞书消息给客服", "stripe"),
])
def test_a_yes_no_judgement_of_a_named_thing_branches_to_the_refund(prompt, service):
    from pilot.generation.plan import DeliverStep

    plan = planner.plan(prompt)
    ai = [s for s in walk(plan.steps) if isinstance(s, AiStep)]
    assert [(s.task, s.categories[0]) for s in ai] == [("classify", "合理")]
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert (service, "refund") in [(d.service, d.action) for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)]


def test_a_bare_weekly_in_a_sheet_name_is_no_schedule_and_a_priority_list_is_a_classification():
    plan = planner.plan("jira ticket priority = Highest -> page the on-call engineer in PagerDuty and post to #incidents in "
                        "slack. any other priority -> just append it to the weekly triage google sheet")
    assert (plan.trigger.__struct_config__.tag, plan.trigger.service) == ("app_event", "jira")
    assert not [s for s in walk(plan.steps) if isinstance(s, AiStep)]  # "triage google sheet" names a sheet
    zh = planner.plan("工单系统会通过 webhook 推送新工单过来。让AI判断紧急程度（高、中、低），只有高的才给值班工程师发短信。")
    (ai,) = [s for s in walk(zh.steps) if isinstance(s, AiStep)]
    assert (ai.task, ai.categories) == ("classify", ["高", "中", "低"])


def test_a_plan_from_the_llm_names_an_action_and_the_compiler_keeps_to_what_the_service_has():
    from pilot.generation.llm_planner import system_prompt
    from pilot.generation.plan import plan_from_builtins

    def compiled(action):
        plan = plan_from_builtins({"title": "t", "language": "en", "trigger": {"kind": "manual"}, "steps": [
            {"kind": "deliver", "id": "refund", "service": "stripe", "operation": "create", "action": action, "quote": "refund it"}]})
        return next(n for n in iter_all_nodes(compile_plan(plan)) if kind(n) == "api").config

    assert (compiled("refund").method, compiled("refund").url) == ("POST", "https://api.stripe.com/v1/refunds")
    assert compiled("refund").operation == "refund"
    # an action the service does not have is its plain write, never an invented endpoint
    assert (compiled("teleport").url, compiled("teleport").operation) == ("https://api.stripe.com/v1/invoices", "create")
    assert "`action`" in system_prompt() and '"action"' in system_prompt()  # the rule and the schema field


@pytest.mark.parametrize("prompt", [
    "When a customer submits the form, email them a thank-you, then 3 days later remind the sales rep to follow up",
    "新员工入职表单提交后，给他发欢迎邮件，三天后提醒HR跟进",
])
def test_a_reminder_to_a_person_after_a_wait_is_sent(prompt):
    from pilot.generation.plan import DeliverStep, WaitStep

    steps = [s for s in walk(planner.plan(prompt).steps) if isinstance(s, (DeliverStep, WaitStep))]
    assert [type(s).__name__ for s in steps] == ["DeliverStep", "WaitStep", "DeliverStep"]
    assert steps[1].duration_s == 3 * 86400


def test_only_the_urgent_ones_after_a_whether_and_a_refused_auto_reply():
    graph = build("When a new email arrives in our support@ Gmail inbox, use AI to decide whether it's urgent. Only the urgent "
                  "ones should be forwarded to our on-call Telegram group. Don't auto-reply to the customer.")
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == ['nodes.judge.output.category == "urgent"']
    assert [service(n) for n in iter_all_nodes(graph) if kind(n) in ("api", "tool")] == ["telegram"]
    assert [n.id for n in iter_all_nodes(graph) if kind(n) == "llm"] == ["judge"]  # no reply is drafted
    # "whether it's a bug or a question" is a choice between two, not a yes/no on "bug or a question"
    plan = planner.plan("New issue opened in our GitHub repo → have AI decide whether it's a bug or a question. Bugs: create "
                        "a matching issue in Linear. Questions: post a comment on the GitHub issue.")
    assert next(s for s in walk(plan.steps) if isinstance(s, AiStep)).categories == ["bug", "question"]


def test_numbered_steps_waits_before_an_event_and_chinese_labels_and_fields():
    from pilot.generation.plan import DeliverStep, WaitStep

    listed = planner.plan("1. 每周五下午5点\n2. 从 Google Analytics 拉本周的网站流量数据\n3. AI 生成一份分析报告\n4. 报告存到语雀")
    assert listed.trigger.cron == "0 17 * * 5"  # "5点" then the item number "2.", not 17:02
    for prompt in ("飞书日历里新建了会议以后，在会议开始前15分钟给我发一条飞书消息提醒",
                   "When a new appointment is booked in Calendly, text the patient a reminder 24 hours before the appointment."):
        steps = [s for s in walk(planner.plan(prompt).steps) if isinstance(s, (WaitStep, DeliverStep))]
        assert isinstance(steps[0], WaitStep) and steps[0].until and isinstance(steps[-1], DeliverStep)
    assert not [s for s in walk(planner.plan("每天凌晨2点，把前一天的Stripe交易记录同步到Google表格里").steps) if isinstance(s, WaitStep)]
    gitlab = planner.plan("gitlab有新issue就让ai分下类（bug/需求/问题），把类别作为label加上去")
    assert [(d.service, d.action) for d in walk(gitlab.steps) if isinstance(d, DeliverStep)] == [("gitlab", "label")]
    extract = planner.plan("阿里云OSS的invoices目录里有新的发票PDF上传时，用AI识别发票号码、金额、开票日期，写入用友U8。")
    assert [s.task for s in walk(extract.steps) if isinstance(s, AiStep)] == ["extract"]
    chosen = planner.plan("识别用户留言是表扬、建议还是投诉，并转到对应的负责人")
    assert [s.task for s in walk(chosen.steps) if isinstance(s, AiStep)] == ["classify"]


def test_third_person_verbs_and_an_email_provider():
    from pilot.generation.plan import DeliverStep

    essays = planner.plan("Students submit their essays through a form. AI grades each essay 0-100 using our rubric and emails "
                          "the student their grade with feedback. If the score is under 50, also notify their teacher on "
                          "Microsoft Teams.")
    assert [s.task for s in walk(essays.steps) if isinstance(s, AiStep)] == ["score"]
    assert "email" in [d.service for d in walk(essays.steps) if isinstance(d, DeliverStep)]
    pr = planner.plan("new PR opend in github -> AI reviews the changes and leaves a review comment on the PR")
    assert [s.task for s in walk(pr.steps) if isinstance(s, AiStep)] == ["analyze"]
    yt = planner.plan("when we upload a new video to our YouTube channel, have AI write a tweet-length teaser and a LinkedIn "
                      "post, and save both as drafts in a Google Doc for me to review.")
    assert (yt.trigger.__struct_config__.tag, yt.trigger.service) == ("app_event", "youtube")
    assert deliveries("Go through every row in our 'Invoices' Google Sheet. For each one, if the due date has passed, send "
                      "the client a reminder email through SendGrid; otherwise skip it.") == {"sendgrid"}


def test_categories_of_several_words_and_an_allowed_channel_is_not_refused():
    plan = planner.plan("When a new issue is opened on our GitHub repo, have AI decide whether it's a bug, a feature request or "
                        "a question and add that category as a label on the issue. If it's a bug, also assign it to @oncall-dev.")
    from pilot.generation.plan import DeliverStep

    assert next(s for s in walk(plan.steps) if isinstance(s, AiStep)).categories == ["bug", "feature request", "question"]
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert [(d.service, d.action) for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)] == [("github", "assign")]
    news = planner.plan("Each morning read the newest post from our RSS feed and have AI decide whether it's about product, "
                        "finance or hiring.")
    assert next(s for s in walk(news.steps) if isinstance(s, AiStep)).categories == ["product", "finance", "hiring"]
    assert deliveries("Our clinic's booking system sends a webhook whenever an appointment is booked. Send the patient an SMS "
                      "reminder 24 hours before the appointment. Do not send any patient details to Slack or email — SMS "
                      "only.") == {"sms"}


def test_a_form_choice_routes_and_each_case_writes_where_the_first_did():
    graph = build("On every new Typeform response to our event registration: if they picked 'Workshop' add them to the "
                  "Workshop audience in Mailchimp, if they picked 'Conference' add them to the Conference audience, and if "
                  "they picked 'Virtual' add them to the Virtual audience.")
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == [f'inputs.event.choice == "{v}"' for v in ("Workshop", "Conference", "Virtual")]
    targets = out_of(graph, cond.id)
    assert [service(nodes(graph)[targets[c.id]]) for c in cond.config.cases] == ["mailchimp"] * 3
    assert not [n for n in iter_all_nodes(graph) if kind(n) == "llm"]


def test_passive_writes_and_someone_getting_an_email():
    graph = build("Employees submit expense claims through a form. If the amount is over 1000 EUR, it needs manager approval "
                  "before anything else happens; anything under that is auto-approved. Approved claims get recorded as a "
                  "bill in Xero and the employee gets an email confirmation.")
    done = {(service(n), n.config.method if kind(n) == "api" else "tool") for n in iter_all_nodes(graph) if kind(n) in ("api", "tool")}
    assert done == {("xero", "POST"), ("email", "tool")}  # nothing is read from Xero or Gmail
    # one AI step, which writes the confirmation the email sends (pilot.generation.planner_messages)
    (writer,) = [n for n in iter_all_nodes(graph) if kind(n) == "llm"]
    email = next(n for n in iter_all_nodes(graph) if kind(n) == "tool")
    assert writer.config.output_schema is None and email.config.arguments["body"] == f"{{{{ nodes.{writer.id}.output }}}}"


def test_cases_after_a_colon_head_each_keep_their_action():
    graph = build("企业微信里新添加了客户之后，按客户来源分一下：来源是官网的，在 HubSpot 里建成线索；来源是展会的，记到飞书多维表格的展会线索表里。")
    cond = only_condition(graph)
    targets = out_of(graph, cond.id)
    assert [(c.when.split("==")[1].strip(' "'), service(nodes(graph)[targets[c.id]])) for c in cond.config.cases] == [
        ("官网", "hubspot"), ("展会", "feishu_bitable")]


def test_the_plan_a_customer_is_on_and_for_everyone_else():
    graph = build("New Zendesk ticket: if the requester is on the Enterprise plan, escalate it to #tier2-support in Slack. For "
                  "everyone else, let AI write a first response and post it as a reply on the ticket.")
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == ['inputs.event.plan == "Enterprise"']
    targets = out_of(graph, cond.id)
    assert service(nodes(graph)[targets[cond.config.cases[0].id]]) == "slack" and kind(nodes(graph)[targets["else"]]) == "llm"
    from pilot.generation import conditions as conds

    assert conds.comparison("如果评论的人是我们的金卡会员", "zh")[0].value == "金卡"


def test_a_threshold_case_named_before_a_colon_and_an_app_named_only_as_a_place():
    graph = build("When someone fills out our job application form, have AI score their resume from 1-10 against the job "
                  "description. Scores of 7 or above: move them to the 'Interview' stage in Greenhouse and notify the hiring "
                  "manager on Slack. Below 7: send a polite rejection email.")
    cond = only_condition(graph)
    assert [c.when for c in cond.config.cases] == ["nodes.score.output.score >= 7"]
    assert {service(n) for n in iter_all_nodes(graph) if kind(n) in ("api", "tool")} == {"greenhouse", "slack", "email"}
    # "posted back to Google" names no service to write to
    plan = planner.plan("Pull the latest 20 reviews on our Google Business Profile that don't have a reply yet, draft a polite "
                        "reply for each, and let me approve them before they get posted back to Google.")
    assert "google_search" not in {s.service for s in walk(plan.steps) if isinstance(s, SourceStep)}


def test_both_at_the_same_time_makes_a_cases_writes_parallel():
    graph = build("New Shopify order over $500 → notify #vip-orders on Slack and add the customer to our 'VIP' list in "
                  "Klaviyo, both at the same time.")
    cond = only_condition(graph)
    case = cond.config.cases[0].id
    assert {nodes(graph)[e.target].id for e in graph.edges if e.source == cond.id and e.source_handle == case} == {
        "send_slack", "append_klaviyo"}


def test_a_messenger_bot_answers_in_its_app_and_a_chatbot_hands_off_by_a_ticket():
    graph = build("discord bot for our game server: when someone asks a question in #help, answer it using teh game wiki "
                  "as a knowledge base and reply in the thread")
    start = nodes(graph)["start"]
    assert trigger(graph) == "app_event" and start.config.trigger.service == "discord"
    assert not [n for n in iter_all_nodes(graph) if kind(n) == "condition"]
    assert [service(n) for n in iter_all_nodes(graph) if kind(n) == "api"] == ["discord"]
    assert trigger(build("Chatbot: when someone asks about a stock ticker, fetch the latest price from Alpha Vantage.")) == "chat"
    assert deliveries("Build a support chatbot for our SaaS product that answers customer questions using our help center "
                      "articles as the knowledge base. If it can't find an answer, it should hand off to a human by "
                      "creating a ticket in Freshdesk.") == {"freshdesk"}


def test_a_system_that_pushes_a_webhook_and_plain_words_are_not_a_condition():
    plan = planner.plan("体检报告出来后体检系统会推送webhook。用AI把报告里的异常指标解读成通俗易懂的话，用短信发给客户；"
                        "如果有严重异常，同时在企业微信上通知对应的健康顾问。")
    assert plan.trigger.__struct_config__.tag == "webhook"
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert [c.label for c in branch.cases] == ["严重异常"]
    assert deliveries("经纪人提交房源信息表单后，AI生成一段房源描述和三个卖点，然后同时发布到我们的微信公众号草稿箱和58同城。") == {
        "wechat_official_account", "tongcheng58"}


def test_no_ai_for_one_part_a_stored_total_and_an_ai_comment():
    from pilot.generation.plan import TransformStep

    plan = planner.plan("On the 1st of every month at 10am, pull last month's donations from Stripe and total them by campaign "
                        "(no AI for this part, just sums). Write the totals into our 'Monthly Donations' Airtable base. Then "
                        "email the board a short AI-written update with the numbers.")
    steps = list(walk(plan.steps))
    assert [s.group_by for s in steps if isinstance(s, TransformStep)] == ["campaign"]
    assert [s.task for s in steps if isinstance(s, AiStep)] == ["generate"]  # the update only, not the stored totals
    comment = planner.plan("Each day at 6pm, read today's new opportunities from Salesforce and DM me on Slack the three "
                           "biggest ones, each with a one-line AI comment.")
    assert [s.task for s in walk(comment.steps) if isinstance(s, AiStep)] == ["generate"]


def test_a_read_only_remark_with_its_refusal_is_no_second_read():
    plan = planner.plan("Each day at 6pm, read today's new opportunities from Salesforce and DM me on Slack the three biggest "
                        "ones. Read-only on Salesforce pls, don't update any records.")
    assert [s.service for s in walk(plan.steps) if isinstance(s, SourceStep)] == ["salesforce"]


def test_a_long_list_after_whether_is_read_in_linear_time():
    import time

    # each item could begin with its article or with the article inside it: before, the classify
    # phrase tried every split (2^n): 400 characters took ~1 s, 1,000 did not finish in a minute
    text = "have AI decide whether it's " + ", ".join(f"a big red thing{i}" for i in range(400)) + " and post to slack"
    started = time.process_time()
    planner.plan(text[:8000])
    assert time.process_time() - started < 5  # generous: linear work here is ~0.1 s


@pytest.mark.parametrize("prompt", [
    "When our backend POSTs a new order to this workflow, check the total: if it's over $500, post to Slack.",
    "The HR system POSTs each new expense claim to us ({claim_id, amount}). Email me a summary of it.",
    "官网的留资接口会把线索POST到这里（姓名、电话），写入HubSpot。",
    "ERP系统推送新的销售订单过来的时候（POST JSON），在企业微信上通知客服。",
    "GitLab流水线失败会发webhook过来。让AI分析失败原因，发到钉钉研发群。",
    "有赞的消息推送（webhook）里有退款申请事件，退款金额小于200的直接调用有赞接口同意退款。",
    "OA系统会把采购申请推送到webhook。收到后先让AI看看申请理由充不充分，然后发邮件给财务。",
])
def test_an_outside_system_calling_the_workflow_is_its_webhook(prompt):
    assert trigger(build(prompt)) == "webhook"


def test_sending_to_a_webhook_is_not_one():
    assert trigger(build("Every morning at 9, summarise yesterday's orders and push the summary to our webhook.")) == "schedule"


@pytest.mark.parametrize("prompt", [
    "AI drafts a polite reply, I review it. if I approve it gets sent from Gmail to the customer. if not, nothing happens.",
    "New row in Airtable → AI writes a tweet → I approve or reject it. Approved: publish it on Twitter.",
    "我把选题丢进来，AI写初稿，然后等主编审核：通过就发到公众号；不通过就发邮件给我。",
])
def test_a_person_reviewing_the_draft_is_an_approval_and_the_approved_side_delivers(prompt):
    graph = build(prompt)
    kinds = [kind(n) for n in graph.nodes]
    assert "wait" in kinds and "condition" in kinds
    condition = first_condition(graph)
    approved = nodes(graph)[out_of(graph, condition.id)["approved"]]
    assert kind(approved) in ("api", "tool")  # what the approval lets through is written on that side


def test_a_url_the_request_calls_keeps_its_method_and_ends_at_chinese_text():
    graph = build("After approval, call DELETE https://api.ourapp.com/users/{id} for each ID.")
    called = [n for n in iter_all_nodes(graph) if kind(n) == "api" and n.config.url.startswith("https://api.ourapp.com")]
    assert [(n.config.method, n.config.url) for n in called] == [("DELETE", "https://api.ourapp.com/users/{id}")]
    graph = build("支付系统会回调我们的接口。调用发货接口 POST https://api.xxshop.com/ship，再给用户发短信说已经安排发货")
    called = [n for n in graph.nodes if kind(n) == "api" and n.config.method == "POST"]
    assert [n.config.url for n in called][:1] == ["https://api.xxshop.com/ship"]  # not "…/ship,再给用户…"
    assert not any(kind(n) == "api" and n.config.method == "GET" for n in graph.nodes)  # the call is the write, nothing is read
    # inside a case, a named service after it does not replace the call
    graph = build("支付系统会回调我们的接口。status 是 paid 的：调用发货接口 POST https://api.xxshop.com/ship，再给用户发短信说已经安排发货；"
                  "status 是 failed 的：给用户发短信提醒重新支付。")
    assert any(kind(n) == "api" and n.config.url == "https://api.xxshop.com/ship" for n in graph.nodes)


@pytest.mark.parametrize(("prompt", "when"), [
    ("Every morning at 7:30, check our Stripe balance. If the available balance is under 1000 USD, message me on Telegram. "
     "If it's fine, just post the balance in #finance on Slack.", "< 1000"),
    ("Have the AI rate the application on a 1-10 scale. 7 or higher: email the candidate an invitation. "
     "Lower than 7: add their name and score to the 'Rejected' tab of my Google Sheet.", ">= 7"),
    ("Contact form (name, email, company size dropdown). On submit: if company size is 'Enterprise', create the contact in HubSpot. "
     "Everybody else just gets added to our Mailchimp newsletter audience.", '== "Enterprise"'),
])
def test_a_threshold_and_the_side_it_leaves_are_an_if_else_not_a_classification(prompt, when):
    graph = build(prompt)
    assert not any(kind(n) == "llm" and n.id.startswith("classify") for n in graph.nodes)  # no AI guessing a comparison
    condition = first_condition(graph)
    assert len(condition.config.cases) == 1 and condition.config.cases[0].when.endswith(when)
    sides = out_of(graph, condition.id)
    assert kind(nodes(graph)[sides["else"]]) in ("api", "tool")  # the other side does its own action


def test_a_part_of_a_service_written_to_is_a_write_and_a_noun_listed_with_it_is_not_a_step():
    assert deliveries("Add their name and score to the 'Rejected' tab of my Google Sheet.") == {"google_sheets"}
    assert not any(isinstance(s, SourceStep) for s in planner.plan("Add their name and score to the 'Rejected' tab of my Google Sheet.").steps)


def test_a_chinese_field_switch_routes_each_value_to_its_own_action():
    graph = build("Alertmanager 的告警会通过 webhook 推过来，按 severity 字段分三种处理：\ncritical：调用阿里云语音通知接口给值班同学打电话；\n"
                  "warning：只在钉钉群里发消息；\ninfo：记到多维表格的告警日志里就行。")
    route = first_condition(graph)
    assert [c.when for c in route.config.cases] == [f'inputs.payload.severity == "{v}"' for v in ("critical", "warning", "info")]
    sides = out_of(graph, route.id)
    assert {service(nodes(graph)[sides[c.id]]) for c in route.config.cases} == {"phone_call", "dingtalk", "feishu_bitable"}
    # a value that is also a service's name ("顺丰") is a value of the field here, and "调…接口" is its action
    graph = build("ERP每次推送出库单到我们的webhook，根据 carrier 字段选物流：顺丰的调顺丰下单接口，中通的先写进多维表格等人工处理。"
                  "其他承运商的发邮件给物流主管 wl@xxtrade.com。")
    route = first_condition(graph)
    assert [c.when for c in route.config.cases] == ['inputs.payload.carrier == "顺丰"', 'inputs.payload.carrier == "中通"']
    assert service(nodes(graph)[out_of(graph, route.id)["else"]]) == "email"


def test_a_classification_head_keeps_its_cases_when_a_case_adds_its_own_step():
    graph = build("Our helpdesk will hit a webhook with every new ticket. Detect what language the customer wrote in and route it:\n"
                  "- English -> post it to #support-en on Slack\n- German -> email it to our Berlin team at berlin@acme.io\n"
                  "- anything else -> create a Jira ticket in TRIAGE")
    route = first_condition(graph)
    assert [c.when for c in route.config.cases] == ['nodes.classify.output.category == "english"',
                                                    'nodes.classify.output.category == "german"']
    assert [n.id for n in graph.nodes if kind(n) == "llm"] == ["classify"]  # "in TRIAGE" is where the ticket goes, not a second AI step
    assert service(nodes(graph)[out_of(graph, route.id)["else"]]) == "jira"


def test_what_an_approval_lets_through_stays_on_its_side_of_the_threshold():
    graph = build("Refund requests come in through our support form (order id, email, amount, reason). If the amount is more than $50 "
                  "it needs approval from a finance lead; once approved, issue the refund in Stripe and email the customer that it "
                  "went through. Refunds of $50 or less: just issue them in Stripe straight away.")
    check = first_condition(graph)
    assert [c.when for c in check.config.cases] == ["inputs.submission.amount > 50"]  # "$50 or less" is the same amount's else
    sides = out_of(graph, check.id)
    assert kind(nodes(graph)[sides["amount_gt_50"]]) == "wait"
    after_approval = out_of(graph, sides["amount_gt_50"])[None]
    assert after_approval.startswith("refund_stripe") and out_of(graph, after_approval)[None] == "send_email"
    assert sides["else"].startswith("refund_stripe") and sides["else"] != after_approval  # "issue them": the refunds, on the else side
    assert out_of(graph, sides["else"])[None] == "result"


def test_a_threshold_that_needs_an_approval_branches_on_the_decision_inside_its_side():
    graph = build("Discount approvals. A sales rep fills in a form: customer, discount %, reason. If the discount is 20% or less, create "
                  "the coupon in Stripe right away. More than 20% needs the sales director to approve it first — approved means create "
                  "the Stripe coupon, rejected means email the rep to let them know.")
    assert sum(kind(n) == "wait" for n in graph.nodes) == 1  # "Discount approvals." is the title, not a second approval
    check = next(n for n in graph.nodes if n.id == "check")
    assert [c.when for c in check.config.cases] == ["inputs.submission.discount <= 20"]  # "discount" is not a count
    sides = out_of(graph, check.id)
    assert service(nodes(graph)[sides["discount_le_20"]]) == "stripe" and kind(nodes(graph)[sides["else"]]) == "wait"
    decided = out_of(graph, out_of(graph, sides["else"])[None])
    assert service(nodes(graph)[decided["approved"]]) == "stripe" and service(nodes(graph)[decided["else"]]) == "email"


def test_a_threshold_in_euros_tests_the_extracted_amount():
    graph = build("When a vendor invoice arrives in our accounts@ Gmail inbox: extract vendor, amount and due date with AI, log it in the "
                  "AP Google Sheet, then check the amount. Invoices over €5,000 need CFO approval before they're created as a bill in "
                  "Xero. Smaller ones go into Xero as a bill directly.")
    check = first_condition(graph)
    assert [c.when for c in check.config.cases] == ["nodes.extract.output.amount > 5000"]
    sides = out_of(graph, check.id)
    assert kind(nodes(graph)[sides["amount_gt_5000"]]) == "wait" and service(nodes(graph)[sides["else"]]) == "xero"


def test_both_outcomes_of_an_approval_inside_a_threshold_case_branch_on_the_decision():
    graph = build("请假流程：员工在表单里填请假类型、开始日期、天数。天数超过3天的需要部门经理审批，批准后同步到飞书日历，并发邮件通知HR（hr@company.com）；"
                  "驳回的话在飞书上给员工发消息说明。3天及以内的自动通过，只记到多维表格的请假记录里。")
    check = next(n for n in graph.nodes if n.id == "check")
    assert [c.when for c in check.config.cases] == ["inputs.submission.days > 3"]  # "驳回" is an outcome, not a third case
    sides = out_of(graph, check.id)
    assert kind(nodes(graph)[sides["days_gt_3"]]) == "wait" and service(nodes(graph)[sides["else"]]) == "feishu_bitable"
    decided = out_of(graph, out_of(graph, sides["days_gt_3"])[None])
    assert service(nodes(graph)[decided["approved"]]) == "feishu_calendar" and service(nodes(graph)[decided["else"]]) == "feishu"
    # "审批同意再调接口退款，拒绝的话…": split at the outcome; a service asked to refund is not read first
    graph = build("有赞的消息推送（webhook）里有退款申请事件。退款金额小于200的，直接调用有赞接口同意退款；200及以上的要客服主管审批，"
                  "审批同意再调接口退款，拒绝的话给买家发短信说明原因。")
    assert not any(kind(n) == "api" and n.config.method == "GET" for n in graph.nodes)
    decided = out_of(graph, next(n.id for n in graph.nodes if n.id == "if_approved"))
    assert nodes(graph)[decided["approved"]].config.method == "POST" and service(nodes(graph)[decided["else"]]) == "sms"


@pytest.mark.parametrize(("prompt", "when"), [
    ("Form submit: if 'Plan' is 'Enterprise', create the deal in HubSpot; otherwise add them to Mailchimp.",
     'inputs.submission.plan == "Enterprise"'),
    ("When a new row is added to Google Sheets, if the status is 'paid', email me.", 'inputs.event.status == "paid"'),
    ("When our backend POSTs an order to this workflow, if the total is over $500 post it to Slack.", "inputs.payload.total > 500"),
])
def test_a_condition_on_the_trigger_reads_the_input_the_trigger_fills(prompt, when):
    graph = build(prompt)
    check = first_condition(graph)
    assert [c.when for c in check.config.cases] == [when]
    field = when.split(".")[1]
    assert field in {f.name for f in graph.nodes[0].config.fields}  # a form's submission, an app's event, a webhook's payload


@pytest.mark.parametrize(("prompt", "written"), [
    ("new GitHub release on our repo → tweet about it, post it in #announcements on Discord", {"twitter", "discord"}),
    ("Stripe 的 webhook 收到付款成功事件时，在飞书多维表格里新增一条订单记录", {"feishu_bitable"}),
    ("把我给的这段产品介绍翻成英文，三个版本都放到Notion的同一个页面里", {"notion"}),
])
def test_each_way_of_saying_write_it_there_is_a_delivery(prompt, written):
    assert deliveries(prompt) == written


def test_writing_a_tweet_is_not_posting_it():
    assert "twitter" not in deliveries("Write a tweet about our launch and email it to me.")


def test_an_else_case_with_a_parenthetical_and_a_moving_quantity():
    graph = build("When a new issue is created in Linear, route it by priority. Urgent: trigger a PagerDuty incident. High: post it in "
                  "#eng-alerts on Slack. Everything else (medium, low, no priority): add it to the weekly triage database in Notion.")
    route = first_condition(graph)
    assert len(route.config.cases) == 2 and service(nodes(graph)[out_of(graph, route.id)["else"]]) == "notion"
    assert out_of(graph, out_of(graph, route.id)["urgent"])[None] == "result"  # the Notion write is the else side's alone
    graph = build("Our warehouse system calls a webhook with stock updates like {sku, qty}. When qty drops below 10, notify #purchasing "
                  "on Slack. If qty is 10 or more, just update that SKU's quantity in the Airtable inventory table.")
    check = first_condition(graph)
    assert [c.when for c in check.config.cases] == ["inputs.payload.qty < 10"]  # "qty drops below": the field is qty
    assert service(nodes(graph)[out_of(graph, check.id)["else"]]) == "airtable"


def test_label_equals_action_cases_after_an_ai_tag():
    graph = build("for every new email to sales@ (gmail), have GPT tag it as one of: demo / pricing / partnership / spam. demo = create "
                  "a deal in HubSpot. pricing = reply from Gmail with our standard pricing blurb. partnership = forward to "
                  "partners@ourco.io. spam = archive it in Gmail")
    route = first_condition(graph)
    assert [c.id for c in route.config.cases] == ["demo", "pricing", "partnership", "spam"]
    sides = out_of(graph, route.id)
    assert nodes(graph)[sides["spam"]].config.operation == "archive" and service(nodes(graph)[sides["demo"]]) == "hubspot"
    assert not any(n.id.startswith("label_") for n in graph.nodes)  # GPT tags it: no label written in Gmail
    # "Audience = small bakery owners" is a parameter, not a case
    assert not any(kind(n) == "condition" for n in build("Need 3 subject lines for our newsletter. Audience = small bakery owners.").nodes)


def test_numbered_steps_in_order_are_a_chain_with_no_invented_branch():
    graph = build("Stripe calls our webhook when a payment succeeds. Steps, in this order: 1) create an invoice record in the 'Invoices' "
                  "table in Airtable, 2) then send the customer a receipt email from Gmail, 3) after that post \"new payment: $X from "
                  "Y\" in #revenue on Slack.")
    assert [service(n) for n in graph.nodes if kind(n) in ("api", "tool")] == ["airtable", "email", "slack"]
    assert not any(kind(n) in ("condition", "llm") for n in graph.nodes)  # "after that" and a quoted colon are not cases


def test_a_method_and_a_path_on_the_teams_own_api_is_that_write():
    graph = build("用户发消息进来后先让AI判断属于哪一类：售前、售后。\n售前 → 把用户的问题转到企业微信的销售群\n"
                  "售后 → 调我们工单系统的接口（POST /api/tickets）建一个工单")
    called = [n for n in graph.nodes if kind(n) == "api" and n.config.url.endswith("/api/tickets")]
    assert [(n.config.method, n.config.url) for n in called] == [("POST", "{{ inputs.api_base_url }}/api/tickets")]
    assert not any(kind(n) == "api" and n.config.method == "GET" for n in graph.nodes)  # nothing read from it first
    graph = build("Claims under $100 are auto-approved: PATCH /claims/{id} with status=approved.")
    assert [(n.config.method, n.config.url) for n in graph.nodes if kind(n) == "api"] == [("PATCH", "{{ inputs.api_base_url }}/claims/{id}")]


def test_arrowed_approval_outcomes_branch_on_the_decision_and_the_publish_waits_for_them():
    graph = build("I give you a blog post URL. Read the page, draft a LinkedIn post from it, and ask me to approve it before anything "
                  "is published. Approved → post it on LinkedIn. Rejected → save the draft into my Notion 'Drafts' database.")
    assert [service(n) for n in graph.nodes if kind(n) in ("api", "tool") and n.config.method != "GET"] == ["linkedin", "notion"]
    check = first_condition(graph)
    sides = out_of(graph, check.id)
    assert check.config.cases[0].when == "nodes.approval.output.approved == true"
    assert service(nodes(graph)[sides["approved"]]) == "linkedin" and service(nodes(graph)[sides["else"]]) == "notion"


def test_setting_the_rows_status_on_each_side_of_a_decision_updates_the_row():
    graph = build("New row in the Airtable 'Social queue' table → AI writes a tweet from the Topic column → I approve or reject it. "
                  "Approved: publish it on X/Twitter and set the row's Status to 'posted'. Rejected: set Status to 'rejected' in Airtable.")
    sides = out_of(graph, "if_approved")
    published = nodes(graph)[sides["approved"]]
    assert (service(published), published.config.method) == ("twitter", "POST")
    then = nodes(graph)[out_of(graph, published.id)[None]]
    assert (service(then), then.config.method) == ("airtable", "PUT")  # the trigger's row, updated
    assert (service(nodes(graph)[sides["else"]]), nodes(graph)[sides["else"]].config.method) == ("airtable", "PUT")


def test_three_chinese_score_bands_are_one_switch_and_an_approval_event_is_no_approval_step():
    plan = planner.plan("每天下午5点从HubSpot拉取当天新增的线索，逐条让AI按0-100打分。高于80分的在企业微信里通知销售一组跟进；"
                        "50到80分之间的加到Mailchimp的培育名单；低于50分的在HubSpot里把线索状态改成“低质量”。")
    (branch,) = [s for s in walk(plan.steps) if isinstance(s, BranchStep)]
    assert [(c.when.op, c.when.value, [d.service for d in c.steps]) for c in branch.cases] == [
        ("gt", 80, ["wecom"]), ("ge", 50, ["mailchimp"]), ("lt", 50, ["hubspot"])]
    graph = build("钉钉里的采购审批通过之后（监听钉钉的审批通过事件），先调用金蝶的接口创建采购订单，最后在钉钉上通知申请人已经下单了。")
    assert trigger(graph) == "app_event" and not any(kind(n) == "wait" for n in graph.nodes)  # approved already: the event


@pytest.mark.parametrize(("prompt", "written"), [
    ("帮我把这段英文产品介绍翻译成中文，语气口语化一点，适合发小红书", set()),  # written for Xiaohongshu, not posted there
    ("每天下午6点，自动汇总当天GitHub仓库里的提交记录，生成一份开发日报，发到企业微信群。", {"wecom"}),  # 提交记录 are read
    ("Anything over $200 needs the manager's approval before it's logged in our Expenses Airtable base; $200 or less gets "
     "logged right away.", {"airtable"}),  # "right away" is how soon, not a service
    ("Pull name, email, phone and company out of this email signature and return it as JSON.", set()),  # "email" is a field
])
def test_nothing_is_written_where_the_request_only_names_a_place(prompt, written):
    assert deliveries(prompt) == written


def test_a_link_to_the_page_just_saved_is_sent_not_saved_again():
    graph = build("每月1号早上8点，从有赞拉上个月的订单数据，让AI分析复购率和爆款商品，结果先存到Notion，然后把Notion页面链接发到钉钉群。")
    written = [service(n) for n in graph.nodes if kind(n) == "tool" or (kind(n) == "api" and n.config.method != "GET")]
    assert written == ["notion", "dingtalk"]  # "Notion页面链接" is the link sent, not a second page


def test_a_band_written_without_a_place_is_written_where_the_other_band_was():
    graph = build("Anything over $200 needs the manager's approval before it's logged in our Expenses Airtable base; $200 or less "
                  "gets logged right away.")
    check = first_condition(graph)
    sides = out_of(graph, check.id)
    assert kind(nodes(graph)[sides["amount_gt_200"]]) == "wait" and service(nodes(graph)[out_of(graph, sides["amount_gt_200"])[None]]) == "airtable"
    assert service(nodes(graph)[sides["else"]]) == "airtable"  # "gets logged right away": in the same base, at once


def test_waits_said_as_another_or_before_a_condition_and_right_away_is_no_recipient():
    graph = build("When a new customer signs up our app fires a webhook. Send a welcome email right away, wait 3 days, send a 'getting "
                  "started tips' email, then wait another 4 days and send a short feedback survey email.")
    assert [n.config.duration_s for n in graph.nodes if kind(n) == "wait"] == [3 * 86400, 4 * 86400]
    assert "right_away_email" not in {f.name for f in graph.nodes[0].config.fields}  # how soon, not who
    graph = build("新用户注册后注册系统会调我们的webhook。先马上发一条欢迎短信；3天后如果这个用户还没下过首单，再发一条优惠券短信。")
    assert [n.config.duration_s for n in graph.nodes if kind(n) == "wait"] == [3 * 86400]


# ---------------------------------------------------------------- the team's own systems, drafts, re-runs (dev8)

def _writes(graph: WorkflowGraph) -> list:
    """Every node with a side effect: a tool, or an api node that does not GET."""
    return [n for n in iter_all_nodes(graph) if kind(n) == "tool" or (kind(n) == "api" and n.config.method != "GET")]


def _reads(graph: WorkflowGraph) -> list:
    return [n for n in iter_all_nodes(graph) if kind(n) == "api" and n.config.method == "GET"]


@pytest.mark.parametrize("prompt, read", [
    ("每周一上午10点从ERP接口拉上周的销售数据，让AI写一份销售周报发邮件给全员。", "erp"),
    ("每小时从库存接口拉一次商品库存，低于10件的发钉钉提醒采购同事。", "库存接口"),
    ("每月1号早上9点，从用友里导出上个月的应收账款，让AI生成一份催款清单发到钉钉。", "yonyou"),
])
def test_a_read_from_the_teams_own_system_or_api_comes_first(prompt, read):
    g = build(prompt)
    (source,) = _reads(g)
    # a name the lexicon does not know is the node's title (service ids are ASCII)
    assert source.config.service == read if read.isascii() else read in source.title
    assert out_of(g, "start")[None] == source.id


@pytest.mark.parametrize("prompt, write", [
    ("支付回调的webhook进来后，订单金额大于5000元的在钉钉上通知财务主管复核，其他的直接调ERP接口把订单标记为已确认。", "erp"),
    ("Google表格新增一行订单时，如果支付方式是货到付款，就调物流接口下一个快递单；否则把订单同步到ERP。", "erp"),
])
def test_a_call_that_changes_a_system_is_a_write_on_its_own_side_and_not_a_read(prompt, write):
    g = build(prompt)
    cond = only_condition(g)
    assert not _reads(g)  # "调ERP接口把订单标记…" calls it once, to change it
    assert service(nodes(g)[out_of(g, cond.id)["else"]]) == write
    assert all(n.config.method != "GET" for n in _writes(g) if kind(n) == "api")


def test_erp_in_a_host_name_or_in_a_notes_words_is_no_destination():
    g = build("I'll paste a CSV of orders. Convert it to JSON and POST what's left to https://erp.example.com/api/orders.")
    assert [n.config.url for n in _writes(g)] == ["https://erp.example.com/api/orders"]
    g = build("有赞订单发货后，在有赞里给这个订单加一条备注“已同步ERP”，然后把订单号追加到谷歌表格里。")
    assert sorted(service(n) for n in _writes(g)) == ["google_sheets", "youzan"]


@pytest.mark.parametrize("prompt, expected", [
    ("有新订单就同步到ERP", ("app_event", "erp")),
    ("新订单来了就同步到我们的ERP系统", ("app_event", "erp")),
    ("Shopify新订单来了就同步到ERP", ("app_event", "erp")),
    ("每天把新订单同步到ERP", ("schedule", "erp")),
])
def test_an_event_ends_where_its_work_starts_and_every_day_is_a_schedule(prompt, expected):
    g = build(prompt)
    assert (trigger(g), [service(n) for n in _writes(g)]) == (expected[0], [expected[1]])
    assert not [n for n in iter_all_nodes(g) if kind(n) in ("llm", "condition")]


def test_a_failed_health_check_triggers_an_incident_and_tests_the_http_status():
    g = build("Every 5 minutes hit https://api.ourapp.io/health. If the status code isn't 200, trigger a PagerDuty incident "
              "for the on-call engineer. Otherwise do nothing.")
    cond = only_condition(g)
    assert [c.when for c in cond.config.cases] == ["nodes.fetch_page.output.status != 200"]
    incident = nodes(g)[out_of(g, cond.id)[cond.config.cases[0].id]]
    assert (service(incident), incident.config.method) == ("pagerduty", "POST")
    assert out_of(g, cond.id)["else"] == "result" and not [n for n in iter_all_nodes(g) if kind(n) == "llm"]


def test_an_application_starts_the_run_and_a_quoted_tag_is_written_not_classified():
    g = build("When a candidate applies in Greenhouse, have AI compare their resume to the job description and give a match "
              "score out of 100. If it's 70 or higher, move them to the Phone Screen stage in Greenhouse and ping the "
              "recruiter on Slack. If lower, just tag them 'low-match' in Greenhouse.")
    t = g.nodes[0].config.trigger
    assert (trigger(g), t.service, t.event) == ("app_event", "greenhouse", "new application")
    assert [n.id for n in iter_all_nodes(g) if kind(n) == "llm"] == ["score"]
    assert only_condition(g).config.cases[0].when == "nodes.score.output.score >= 70"


@pytest.mark.parametrize("prompt", [
    "When a new email arrives in our support Gmail inbox, have AI draft a polite reply and save it as a Gmail draft. "
    "Don't send it, I'll review the drafts myself.",
    "收到新邮件时让AI写一封回复，存为草稿，我自己看过再发",
])
def test_a_reply_saved_as_a_draft_is_a_draft_and_not_a_send(prompt):
    g = build(prompt)
    (draft,) = _writes(g)
    assert draft.config.url == "https://gmail.googleapis.com/gmail/v1/users/me/drafts"
    assert len([n for n in iter_all_nodes(g) if kind(n) == "llm"]) == 1


def test_a_flaky_build_is_re_run_and_the_else_side_keeps_its_whole_sentence():
    g = build("GitHub Actions posts failed builds to our webhook. Have AI read the log snippet and decide whether it's a "
              "flaky test or a real failure. If flaky, re-run the workflow through the GitHub API. Otherwise open a GitHub "
              "issue with the AI's diagnosis and notify #eng in Slack.")
    cond = only_condition(g)
    rerun = nodes(g)[out_of(g, cond.id)["flaky"]]
    assert rerun.config.url.endswith("/actions/runs/{{ inputs.run_id }}/rerun")
    assert out_of(g, rerun.id)[None] == "result"  # the Slack message is the other side's
    assert not [n for n in iter_all_nodes(g) if kind(n) == "workflow"]


@pytest.mark.parametrize("prompt, services", [
    ("每天早上8点半，拉一下企业微信昨天的客户联系数据，让AI写两三句点评，推送给我。", ["wecom"]),
    ("飞书通讯录里有新员工入职时，先给他发一条飞书欢迎消息，等一周之后再发一份入职体验问卷给他。", ["feishu", "feishu"]),  # the new colleague is on 飞书, where the event came from
    ("每周五下午3点，根据公众号后台本周的阅读数据，让AI写一份选题建议，先发给我审核，我点同意之后再发到市场部的飞书群。", ["feishu"]),
])
def test_sent_to_me_or_him_is_a_delivery_unless_it_is_for_approval(prompt, services):
    assert [service(n) for n in _writes(build(prompt))] == services


def test_each_item_is_judged_by_the_ai_and_commented_back_on_its_own_record():
    g = build("每小时抓一次微博上提到我们品牌的帖子，逐条让AI判断情感是“正面”“负面”还是“中性”，负面的立刻推到企业微信公关群。")
    cls = next(n for n in iter_all_nodes(g) if kind(n) == "llm")
    assert cls.config.output_schema["properties"]["category"]["enum"][:3] == ["正面", "负面", "中性"]
    assert only_condition(g).config.cases[0].when == 'nodes.classify.output.category == "负面"'
    g = build("每天晚上10点，把GitLab上今天新建的merge request一个个拿出来，让AI做代码审查，审查意见作为评论发回对应的MR。")
    (comment,) = _writes(g)
    assert comment.config.url.endswith("/notes") and comment.id in nodes(g)
    loop = next(n for n in g.nodes if kind(n) == "loop")
    assert comment.id in {n.id for n in loop.config.body.nodes}


def test_a_table_written_and_a_person_told_in_one_case_keeps_both_in_that_order():
    g = build("财务系统会通过webhook推来发票图片的链接。用AI识别出发票号码、金额、开票日期和销售方名称。金额大于等于1万的，"
              "写入“大额发票”表并通知财务总监；其余的只写入“普通发票”表。")
    cond = only_condition(g)
    first = nodes(g)[out_of(g, cond.id)["amount_ge_10000"]]
    assert kind(first) == "api" and kind(nodes(g)[out_of(g, first.id)[None]]) == "tool"


@pytest.mark.parametrize("prompt, provider, sends", [
    ("When someone signs up through our signup form, send them a welcome email right away, wait 3 days, then send a "
     "follow-up email with getting-started tips. Use SendGrid for both emails.", "sendgrid", 2),
    ("新用户注册后发一条欢迎短信，3天后再发一条优惠券短信，短信统一用阿里云短信发", "aliyun_sms", 2),
])
def test_the_provider_named_for_every_email_or_text_sends_each_of_them(prompt, provider, sends):
    assert [service(n) for n in _writes(build(prompt))] == [provider] * sends


def test_labels_written_back_to_the_app_are_a_write_and_a_notes_words_are_not():
    # blind18 caught the note-words rule taking "把标签写回 Zendesk" for a note's text
    g = build("每天凌晨3点，把前一天新增的客服对话从 Zendesk 拉出来，按每20条一批让AI给对话打上问题类别标签，然后把标签写回 Zendesk。")
    assert [service(n) for n in _writes(g)] == ["zendesk"]
    g = build("有赞订单发货后，在有赞里给这个订单加一条备注“已同步ERP”，然后把订单号追加到谷歌表格里。")
    assert "erp" not in [service(n) for n in _writes(g)]


@pytest.mark.parametrize("text, lang, expected", [
    ("if it's below 0", "en", ("value", "lt", 0)),  # not a field "s" from "it's"
    ("if they're over 100", "en", ("value", "gt", 100)),
    ("if it's negative (below 0)", "en", ("value", "lt", 0)),  # the bracket says how it is tested
    ("如果评分很低（低于3分）", "zh", ("value", "lt", 3)),
    ("if the score is low (< 7)", "en", ("score", "lt", 7)),  # was score == "low": the words, not the test
    ("if anything is really negative (below -0.5)", "en", ("value", "lt", -0.5)),
])
def test_a_pronoun_is_the_tested_value_and_a_bracket_can_hold_the_comparison(text, lang, expected):
    from pilot.generation.conditions import comparison

    found = comparison(text, lang)
    assert found is not None and (found[0].field, found[0].op, found[0].value) == expected


@pytest.mark.parametrize("prompt, handoffs", [
    # the handoff became a POST to a service called "转给销售", and the Jira ticket followed it on that side too
    ("客户在企业微信发消息时，先让AI判断是售前咨询还是售后问题，售前的转给销售，售后的在Jira建一个工单", {"wecom": 1, "jira": 1}),
    ("钉钉群里有人提问时，让AI分成技术问题和商务问题，技术的转给研发，商务的交给销售跟进", {"dingtalk": 2}),
])
def test_a_case_handed_to_a_team_is_a_message_on_the_workplace_messenger_and_each_case_has_its_own(prompt, handoffs):
    g = build(prompt)
    cond = next(n for n in iter_all_nodes(g) if kind(n) == "condition")
    by_case = out_of(g, cond.id)
    firsts = [nodes(g)[by_case[c.id]] for c in cond.config.cases]
    assert len(firsts) == 2 and all(kind(n) in ("tool", "api") for n in firsts)  # each case starts with its own action
    writes = {n.id for n in _writes(g)}
    assert not [e for e in g.edges if e.source in writes and e.target in writes]  # and no case runs another's
    assert sorted(service(n) for n in _writes(g)) == sorted(s for s, k in handoffs.items() for _ in range(k))
    cls = next(n for n in iter_all_nodes(g) if kind(n) == "llm")
    categories = cls.config.output_schema["properties"]["category"]["enum"]
    assert [c.when.split('"')[1] for c in cond.config.cases] == categories[:2]  # the cases test the categories the AI gives


@pytest.mark.parametrize("prompt", [
    "每天晚上拉取有赞当天的新评价，差评的让AI写一条回复，存到腾讯文档的草稿表里，我审核后再手动回",
    "Every morning pull new App Store reviews, have AI draft a reply to each one-star review and add it to our Airtable; "
    "I'll review them and then post manually",
])
def test_a_review_done_by_hand_afterwards_is_not_an_approval_step_and_a_drafts_table_is_a_place(prompt):
    p = planner.plan(prompt)
    kinds = [type(s).__name__ for s in walk(p.steps)]
    assert "WaitStep" not in kinds  # the person reviews and replies outside the workflow
    assert kinds.count("AiStep") == 1  # "存到…草稿表里" stores the reply; it writes no second draft
    assert validate_graph(compile_plan(p)).valid


@pytest.mark.parametrize("prompt, service, event", [
    # the work came first and the event's app lost to it: a Discord "new message" trigger, and nothing sent
    ("wanna get a msg on slack whenever someone stars our github repo", "github", "new star"),
    ("When a customer emails support asking for a refund, have AI draft a reply and save it as a Gmail draft", None, "new email"),
    ("GitLab 流水线失败的时候，让AI看下日志分析原因，发到飞书群", "gitlab", "pipeline failed"),
    ("供应商的报价邮件进来后，让AI提取报价金额，写进飞书多维表格", None, "new email"),
])
def test_the_event_that_starts_the_run_is_read_where_it_is_said(prompt, service, event):
    p = planner.plan(prompt)
    assert p.trigger.__struct_config__.tag == "app_event" and p.trigger.event == event
    if service is not None:
        assert p.trigger.service == service
    assert any(isinstance(s, DeliverStep) for s in walk(p.steps))  # and what to do still is a step


@pytest.mark.parametrize("prompt, writes", [
    # "text me … on Telegram" was an SMS as well as the Telegram message
    ("Every evening at 9 check my Todoist tasks for tomorrow and text me a reminder list on Telegram", ["telegram"]),
    # "No pages, no tickets, no Slack." was not read as a refusal: a Slack message was still sent
    ("When Datadog fires an alert webhook, have AI explain the likely cause and return it. No pages, no tickets, no Slack.", []),
    # the event's own record ("every new GitHub issue") was written back to GitHub as well as to Notion
    ("Log every new GitHub issue to a Notion database with an AI summary. No Slack, no emails - just the Notion entry.", ["notion"]),
])
def test_the_services_written_to_are_the_ones_asked_for_and_no_others(prompt, writes):
    assert [service(n) for n in _writes(build(prompt))] == writes


def test_a_bracket_that_compares_does_not_end_the_clause_like_a_numbered_step():
    # "(< 7) create …" was read as step "7)": the condition lost its number and the case its action
    g = build("For every new Typeform response: if the score is low (< 7) create a ticket in Zendesk. Ignore everything else.")
    cond = first_condition(g)
    assert [c.when for c in cond.config.cases] == ["inputs.event.score < 7"]
    assert service(nodes(g)[out_of(g, cond.id)[cond.config.cases[0].id]]) == "zendesk"


@pytest.mark.parametrize("prompt, provider", [
    # the URL's "https:" colon split the clause (no request was made) and "down / fine" became AI categories
    ("Every night at 2am hit the /health endpoint of our API (https://api.ourapp.com/health). If it's down, open a "
     "PagerDuty incident; if it's fine, do nothing.", "pagerduty"),
    # no condition at all, and an SMS through Twilio as well as the 阿里云短信 the bracket names
    ("每小时检查一次官网 https://www.example.cn 能不能打开，挂了就发短信给值班同事（走阿里云短信），正常就什么都不做", "aliyun_sms"),
])
def test_a_site_that_is_down_is_a_status_other_than_200_and_an_unreachable_host_counts_as_down(prompt, provider):
    g = build(prompt)
    cond = first_condition(g)
    fetch = next(n for n in _reads(g))
    assert [c.when for c in cond.config.cases] == [f"nodes.{fetch.id}.output.status != 200"]
    assert fetch.on_error == "default" and fetch.default_output["status"] == 0  # no answer: the alert still goes out
    assert [service(n) for n in _writes(g)] == [provider]
    assert service(nodes(g)[out_of(g, cond.id)[cond.config.cases[0].id]]) == provider


def test_a_price_checked_then_compared_is_read_and_its_threshold_starts_the_case():
    # "看一下比特币价格，高于7万美元就…" was one clause: the price became an AI category, nothing was read
    g = build("每天早上9点看一下以太坊价格，低于2000美元就发钉钉提醒我，没到就算了")
    cond = first_condition(g)
    fetch = next(n for n in _reads(g))
    assert [c.when for c in cond.config.cases] == [f"nodes.{fetch.id}.output.body.value < 2000"]
    assert [service(n) for n in _writes(g)] == ["dingtalk"]


def test_let_someone_know_is_a_message_to_that_person():
    g = build("When a new lead fills in the demo form, add them to HubSpot and let the account manager know by email.")
    sends = [n for n in _writes(g) if service(n) == "email"]
    assert len(sends) == 1 and "account_manager_email" in sends[0].config.arguments["to"]


@pytest.mark.parametrize("prompt", [
    # the answer saw the retrieved passages but never the question it was asked
    "Build a chatbot for our HR team that answers employee questions about leave using our HR policy docs.",
    # not even a chat: a manual run, and no question anywhere
    "想要一个内部数据助手，同事可以直接问它“这周新增了多少客户”这类问题，它自己去查我们的MySQL数据库然后回答",
])
def test_a_chat_answer_is_given_the_question_as_well_as_what_was_looked_up(prompt):
    g = build(prompt)
    assert trigger(g) == "chat"
    answer = next(n for n in iter_all_nodes(g) if kind(n) in ("llm", "agent"))
    looked_up = [n for n in iter_all_nodes(g) if kind(n) in ("knowledge", "api")]
    assert "{{ inputs.message }}" in answer.config.prompt
    assert looked_up and f"nodes.{looked_up[0].id}.output" in answer.config.prompt


def test_cases_named_after_for_each_get_their_own_actions_and_the_rest_can_share_one():
    # "For billing, …. For bugs, …": no condition was made, so every email was forwarded AND filed
    g = build("Classify each support email as billing, bug or question. For billing, forward it to finance@acme.com. "
              "For bugs, create a Jira issue. Ignore the rest.")
    cond = next(n for n in iter_all_nodes(g) if kind(n) == "condition")
    body = {n.id: n for n in iter_all_nodes(g)}
    firsts = {c.id: service(body[next(e.target for e in _all_edges(g) if e.source == cond.id and e.source_handle == c.id)])
              for c in cond.config.cases}
    assert firsts == {"billing": "email", "bug": "jira"}
    # "'pricing', 'sales' or 'other'" are the categories; "For pricing and other, answer …" is that case and the else side
    g = build("Website chatbot: classify each visitor message as 'pricing', 'sales' or 'other'. For sales, create a lead "
              "in Salesforce. For pricing and other, answer from our knowledge base.")
    cls = next(n for n in iter_all_nodes(g) if kind(n) == "llm")
    assert cls.config.output_schema["properties"]["category"]["enum"][:2] == ["pricing", "sales"]
    cond = first_condition(g)
    after = out_of(g, cond.id)
    assert kind(nodes(g)[after["sales"]]) == "api" and kind(nodes(g)[after["pricing"]]) == "knowledge"
    assert kind(nodes(g)[after["else"]]) == "knowledge"


def _all_edges(graph: WorkflowGraph) -> list:
    """The edges of the graph and of every loop body."""
    return [*graph.edges, *(e for n in iter_all_nodes(graph) if kind(n) == "loop" for e in n.config.body.edges)]


def test_not_one_per_item_is_one_step_for_all_of_them():
    p = planner.plan("Every Friday pull this week's Stripe payments, write one overall summary (not one per order!) and email it to me")
    assert not any(isinstance(s, LoopStep) for s in walk(p.steps))


def test_an_approval_then_what_it_lets_through_is_a_wait_and_the_step_not_a_category():
    # "给主编审核，审核通过后自动发布": no approval step, and "审核" / "自动" became AI categories
    g = build("每周一上午9点，AI写一篇行业周报，给主编审核，审核通过后自动发布到微信公众号")
    kinds = [kind(n) for n in g.nodes]
    assert "wait" in kinds and "condition" not in kinds and kinds.count("llm") == 1
    assert kinds.index("wait") < kinds.index("api") and [service(n) for n in _writes(g)] == ["wechat_official_account"]


def test_each_later_delay_is_a_wait_of_its_own():
    # "7天后在纷享销客里…" had no wait: the task was created right after the second email
    g = build("用户注册后立刻发欢迎邮件；3天后再发一封使用技巧邮件；7天后在HubSpot里给对应销售创建一个跟进任务")
    waits = [n.config.duration_s for n in g.nodes if kind(n) == "wait"]
    assert waits == [3 * 86400, 7 * 86400]


def test_a_case_whose_second_action_follows_and_is_still_that_case():
    # "高的建Jira单并且发钉钉群，中的只建Jira单": the 钉钉 message was cut off the 高 case, which became a branch of its own
    g = build("Sentry有新报错时，让AI判断严重程度（高/中/低）：高的建Jira单并且发钉钉群，中的只建Jira单，低的不处理")
    conds = [n for n in iter_all_nodes(g) if kind(n) == "condition"]
    assert len(conds) == 1
    high = out_of(g, conds[0].id)[conds[0].config.cases[0].id]
    assert service(nodes(g)[high]) == "jira" and service(nodes(g)[out_of(g, high)[None]]) == "dingtalk"


def test_pieces_written_in_parallel_each_go_where_the_request_sends_them():
    # the event's "is published" became a condition, and the three pieces ran one after another
    g = build("When a product is released (our CI sends a webhook), in parallel: write a tweet and post it to X, "
              "write a LinkedIn post and publish it on LinkedIn, and draft release notes and save them to Notion.")
    assert trigger(g) == "webhook" and not [n for n in g.nodes if kind(n) == "condition"]
    starts = [e.target for e in g.edges if e.source == g.nodes[0].id]
    assert len(starts) == 3 and all(kind(nodes(g)[s]) == "llm" for s in starts)
    assert sorted(service(nodes(g)[out_of(g, s)[None]]) for s in starts) == ["linkedin", "notion", "twitter"]


def test_a_request_that_says_what_to_write_and_where_gets_no_template_steps_bolted_on():
    # the support template's recipe replaced it: an AI classification into billing / technical / … and a
    # knowledge-base search nobody asked for, and the reply to the buyer was lost
    from pilot.generation.pipeline import build_offline

    g = build_offline("淘宝店有买家申请退款时，AI根据退款原因写一条安抚回复发给买家，同时把这单记到飞书多维表格里")
    kinds = [kind(n) for n in iter_all_nodes(g)]
    assert "knowledge" not in kinds and not any(n.config.output_schema for n in iter_all_nodes(g) if kind(n) == "llm")
    assert sorted(service(n) for n in _writes(g)) == ["feishu_bitable", "taobao"]


def test_an_open_bound_ends_the_condition_so_the_approval_it_needs_is_kept():
    # "If it's $50 or more it needs approval …, and once approved, issue the refund": the approval was lost
    g = build("Refund requests come in by webhook. If the amount is under $100, refund it in Stripe right away. If it's "
              "$100 or more it needs approval from the support lead first, and once approved, refund it in Stripe.")
    cond = first_condition(g)
    other = nodes(g)[out_of(g, cond.id)["else"]]
    assert kind(other) == "wait" and other.config.approval is not None
    assert service(nodes(g)[out_of(g, other.id)[None]]) == "stripe"
    assert "support lead" in other.title  # who approves, not "and once"


@pytest.mark.parametrize("prompt, first, second, writes", [
    # the second condition was dropped (en) or became a case of its own that sent the message alone (zh)
    ("When a new deal is created in Pipedrive and it's worth more than $20k AND the company has over 200 employees, "
     "email our VP of Sales (vp@acme.io). Otherwise do nothing.", "inputs.event.value > 20000", "inputs.event.employees > 200", "email"),
    ("新订单来了，如果金额大于5000并且客户等级是VIP，就在企业微信里通知销售主管", "inputs.event.amount > 5000", 'inputs.event.level == "VIP"', "wecom"),
])
def test_two_conditions_joined_by_and_both_hold_before_the_action(prompt, first, second, writes):
    g = build(prompt)
    outer = first_condition(g)
    assert [c.when for c in outer.config.cases] == [first]
    inner = nodes(g)[out_of(g, outer.id)[outer.config.cases[0].id]]
    assert kind(inner) == "condition" and [c.when for c in inner.config.cases] == [second]
    assert service(nodes(g)[out_of(g, inner.id)[inner.config.cases[0].id]]) == writes
    assert out_of(g, inner.id)["else"] == out_of(g, outer.id)["else"]  # one failing test: nothing is sent


def test_pages_named_without_a_scheme_are_each_read():
    # "(acme.com/pricing and globex.com/pricing)": nothing was read but a made-up "pricing pages" API
    g = build("Once a week, check the pricing pages of our two competitors (acme.com/pricing and globex.com/pricing) "
              "and send me a Telegram message summarising their plans.")
    assert sorted(n.config.url for n in _reads(g)) == ["https://acme.com/pricing", "https://globex.com/pricing"]


def test_what_was_added_in_a_system_is_read_from_it_not_created_there():
    # "纷享销客CRM里新增的客户数" created a record in the CRM every evening
    g = build("钉钉群里每天下午5点发一下当天纷享销客CRM里新增的线索数和跟进摘要")
    assert [service(n) for n in _reads(g)] == ["fxiaoke"] and [service(n) for n in _writes(g)] == ["dingtalk"]


def test_a_create_api_is_a_write_and_marking_a_record_updates_it():
    # "调ERP的创建订单接口" was also read (GET) before the write; "在多维表格里标记一下" was a read
    g = build("支付回调（webhook）进来后：状态为“已支付”的订单调ERP的创建订单接口同步过去；状态为“已退款”的在飞书多维表格里标记一下；其他状态忽略")
    assert not _reads(g)
    assert sorted((service(n), n.config.method) for n in _writes(g)) == [("erp", "POST"), ("feishu_bitable", "PUT")]


@pytest.mark.parametrize("prompt, writes", [
    # the threshold became an AI category beside "余额够", and "什么都不用发" removed every send of the request
    ("每天早上8点查一下腾讯云账户余额，低于300元就给我发短信提醒，顺便在钉钉上也说一声；余额够的话什么都不用发。", ["sms", "dingtalk"]),
    ("every morning check stock levels in our inventory API. if any item is under 5 units, email buyer@acme.com "
     "the list. if nothing's low, don't send anything.", ["email"]),
])
def test_a_threshold_whose_other_side_does_nothing_keeps_its_comparison_and_its_sends(prompt, writes):
    g = build(prompt)
    cond = first_condition(g)
    assert len(cond.config.cases) == 1 and " < " in cond.config.cases[0].when
    assert [service(n) for n in _writes(g)] == writes
    assert out_of(g, cond.id)["else"] == "result"


def test_every_category_case_of_every_eval_prompt_tests_an_answer_the_ai_is_asked_to_give():
    # 19 cases of the eval prompts compared with a label ("严重") while the prompt asked the model for
    # another ("回答「严重故障」或「不是严重故障」"): those cases never ran
    import json
    import re
    from pathlib import Path

    from pilot.generation.pipeline import build_offline

    data = Path(__file__).resolve().parents[2] / "evals" / "data"
    prompts = {json.loads(x)["prompt"] for f in sorted(data.glob("structure_*.jsonl"))
               for x in f.read_text(encoding="utf-8").splitlines() if x.strip() and '"prompt"' in x}
    checked, wrong = 0, []
    for prompt in sorted(prompts):
        g = build_offline(prompt)
        found = {n.id: n for n in iter_all_nodes(g)}
        for cond in (n for n in found.values() if kind(n) == "condition"):
            for case in cond.config.cases:
                m = re.fullmatch(r'nodes\.(\w+)\.output\.category == "(.*)"', case.when)
                said = re.search(r"(?:类别：|Categories: )(.*)", getattr(found.get(m.group(1)).config, "prompt", "") or "") if m else None
                if said:
                    checked += 1
                    if m.group(2) not in said.group(1).split(", "):
                        wrong.append((m.group(2), said.group(1), prompt[:60]))
    assert checked > 500 and not wrong


@pytest.mark.parametrize("prompt, trigger_kind", [
    ("客户在官网填了留资表单以后，马上给他发一封欢迎邮件", "form"),
    ("学生用表单交作业后，让AI打分并写评语发到老师邮箱", "form"),
    ("做一个数据分析助手，我用聊天的方式问它问题，它去查数据库回答", "chat"),
    ("做个HR问答小助手，员工直接跟它聊天问制度问题，从员工手册里找答案回复", "chat"),
    ("When a client signs their contract in DocuSign, create an onboarding project in Asana", "app_event"),
])
def test_how_the_run_starts_is_read_from_everyday_wording(prompt, trigger_kind):
    # each of these was a manual run: nothing would ever start it
    assert trigger(build(prompt)) == trigger_kind


def test_numbered_lines_after_a_parallel_head_run_side_by_side():
    # "1." on its own line was read as the end of a sentence: the steps ran one after another
    g = build("支付成功的回调过来以后，下面三件事并行做：\n1. 给用户发短信确认\n2. 把订单状态更新回MySQL\n3. 在飞书财务群里通知一下")
    starts = [e.target for e in g.edges if e.source == g.nodes[0].id]
    assert sorted(service(nodes(g)[s]) for s in starts) == ["feishu", "mysql", "sms"]
    assert all(out_of(g, s)[None] == "result" for s in starts)


def test_text_me_right_after_the_time_is_an_sms():
    # "every morning at 7:15 text me …" sent nothing
    assert [service(n) for n in _writes(build("every morning at 6:30 text me today's weather forecast for Paris"))] == ["sms"]


def test_a_list_got_from_our_own_api_is_read_and_each_item_gets_its_message():
    # the appointments were never read: the loop went over a list the user would have to paste in
    g = build("Every day at 6pm get tomorrow's bookings from our salon booking API and send each customer an SMS reminder via Twilio")
    fetch = next(n for n in _reads(g))
    assert fetch.config.url == "{{ inputs.salon_booking_api_url }}"
    loop = next(n for n in g.nodes if kind(n) == "loop")
    assert loop.config.items == f"{{{{ nodes.{fetch.id}.output.body }}}}" and [kind(n) for n in loop.config.body.nodes] == ["api"]


def test_logging_every_question_of_a_chat_is_one_write_per_run():
    # "Log every question + answer to Notion" looped over the retrieved passages with a second answer
    # step, since "+ answer" was read as one more action
    g = build("Students chat with a course assistant that answers from the lecture notes in our knowledge base. "
              "Log every question + answer to a Notion database for the TA.")
    assert trigger(g) == "chat" and not [n for n in iter_all_nodes(g) if kind(n) == "loop"]
    assert [kind(n) for n in g.nodes if kind(n) == "llm"] == ["llm"] and [service(n) for n in _writes(g)] == ["notion"]


def test_a_condition_said_to_go_item_by_item_tests_each_item_of_the_list():
    # "评分低于3星的逐条让AI写回复": the condition tested the fetched list once, and no loop was made
    g = build("每天晚上10点抓一下有赞店铺当天的新评价，评分低于3星的逐条让AI写一条回复草稿，发到客服钉钉群；好评不用管。")
    loop = next(n for n in g.nodes if kind(n) == "loop")
    body = {n.id: n for n in loop.config.body.nodes}
    cond = next(n for n in body.values() if kind(n) == "condition")
    assert [c.when for c in cond.config.cases] == ["item.score < 3"]
    assert sorted(kind(n) for n in body.values()) == ["condition", "llm", "tool"]


def test_the_other_side_updates_the_events_own_row_and_asking_for_approval_is_a_message():
    # "email my manager asking them to approve it" waited for an approval the run cannot get, and
    # "set the Status column of that row" wrote nothing (then PUT to the sheet's append endpoint)
    g = build("When a new row is added to our 'Expenses' Google Sheet: if the amount is above 1000, email my manager "
              "asking them to approve it; if not, auto-approve it by setting the Status column of that row to 'Approved'.")
    assert not [n for n in g.nodes if kind(n) == "wait"]
    cond = first_condition(g)
    other = nodes(g)[out_of(g, cond.id)["else"]]
    assert service(other) == "google_sheets" and other.config.method == "PUT" and ":append" not in other.config.url
    assert service(nodes(g)[out_of(g, cond.id)[cond.config.cases[0].id]]) == "email"


def test_an_email_event_forwarded_to_someone_is_an_email():
    g = build("When a new email comes into sales@ in Gmail, look up the sender in HubSpot and forward it to their owner")
    assert [service(n) for n in _writes(g)] == ["email"]


def test_a_write_to_the_teams_own_ledger_is_a_step_on_each_side():
    # "写进报销台账" wrote nothing (an AI step stood in for it) on either side of the threshold
    g = build("员工提交报销申请后：金额超过3000的，要等部门经理审批，审批通过后再写进报销台账；3000及以下的直接写进台账。")
    cond = first_condition(g)
    after = out_of(g, cond.id)
    assert kind(nodes(g)[after[cond.config.cases[0].id]]) == "wait"
    assert kind(nodes(g)[after["else"]]) == "api" and len(_writes(g)) == 2 and not [n for n in g.nodes if kind(n) == "llm"]


def test_the_destination_said_first_is_where_the_later_send_goes():
    # "To the #finance-alerts channel in Slack: …, post a summary": the Slack message was sent first, before the data;
    # and "a summary of yesterday's failed Stripe payments" wrote to Stripe (an invoice) instead of reading it
    g = build("To the #ops channel in Slack: every morning at 8, post a summary of yesterday's failed Stripe payments.")
    kinds = [kind(n) for n in g.nodes]
    assert kinds.index("api") < kinds.index("llm") < kinds.index("tool") and [service(n) for n in _writes(g)] == ["slack"]


def test_steps_told_as_what_it_does_are_each_a_step():
    # "it reads the article, drafts a LinkedIn post from it, and waits for my approval": the page was never read
    g = build("I give it a blog post URL -> it reads the article, drafts a LinkedIn post from it, and waits for my approval. "
              "Only after I approve should it post it to LinkedIn.")
    kinds = [kind(n) for n in g.nodes]
    assert kinds[1:5] == ["api", "llm", "wait", "api"] and g.nodes[1].config.method == "GET"


def test_an_accounts_data_pushed_to_a_group_is_read_from_it_not_sent_to_it():
    # "推送一下今天抖音账号的数据" sent a message to Douyin and read nothing
    g = build("给运营群（钉钉）每天晚上9点推送一下今天小红书账号的数据：阅读量、点赞、新增粉丝")
    assert [service(n) for n in _reads(g)] == ["xiaohongshu"] and [service(n) for n in _writes(g)] == ["dingtalk"]


def test_calling_our_health_endpoint_is_a_read_and_writing_a_measurement_is_no_ai_step():
    # "call our API's /health endpoint" POSTed "The workflow finished" to a service called "our", and
    # "write the measurement to the metrics table" added an AI writer
    g = build("Every 15 minutes, call our API's /health endpoint and check the response time. If it's over 2000 ms, "
              "page the on-call through PagerDuty; otherwise write the measurement to the metrics table in Postgres.")
    assert sorted(service(n) for n in _writes(g)) == ["pagerduty", "postgres"]
    assert not [n for n in g.nodes if kind(n) == "llm"]


def test_a_recipient_the_form_asks_for_is_the_submitted_address():
    # "let their manager know by email" with a "manager email" form field asked for one fixed address as a run input
    g = build("When HR fills in the onboarding form (name, start date, manager email), create a task in Asana and "
              "let their manager know by email.")
    sends = [n for n in _writes(g) if service(n) == "email"]
    assert [n.config.arguments["to"] for n in sends] == ["{{ inputs.submission.manager_email }}"]
    assert "manager_email" not in {f.name for f in g.nodes[0].config.fields}


@pytest.mark.parametrize("prompt, sent", [
    # "send me a …" named no channel, and the summary went nowhere
    ("Send me a daily summary of my unread Gmail emails at 6pm.", ["email"]),
    # the address was dropped once Slack was named too
    ("Every Friday at 5pm, read this week's sales from our 'Sales' Google Sheet, create a summary with totals per "
     "region, and send it to sales-leads@acme.com and to #sales on Slack.", ["email", "slack"]),
    # "for me by email" is where it goes
    ("Every morning, search the news for mentions of our brand 'Acme Robotics' and summarize them for me by email", ["email"]),
])
def test_a_delivery_said_without_a_service_name_still_goes_out(prompt, sent):
    g = build(prompt)
    assert [service(n) for n in _writes(g)] == sent
    if "sales-leads@" in prompt:
        assert [n.config.arguments["to"] for n in _writes(g) if service(n) == "email"] == ["sales-leads@acme.com"]


@pytest.mark.parametrize("prompt", [
    "Every morning, search the news for mentions of our brand 'Acme Robotics' and summarize them.",
    "每天中午12点搜索网上关于我们品牌“小蓝鲸”的最新报道，总结一下",
])
def test_searching_the_news_reads_a_web_search(prompt):
    assert [service(n) for n in _reads(build(prompt))] == ["web_search"]


@pytest.mark.parametrize("prompt", [
    "When a new review arrives, have AI decide whether it is negative. Only email me if it is negative.",
    "When a new review arrives, have AI decide whether it is negative. Email me only if it is negative.",
    "When a review comes in, have AI decide whether it is negative. If there is negative feedback, email me; "
    "otherwise don't send anything.",
    "Every morning, search the news for mentions of our brand 'Acme Robotics' and have AI decide whether any of it is "
    "negative press. Only email me if there is negative coverage; otherwise don't send anything.",
    "每天中午12点搜索网上关于我们品牌“小蓝鲸”的最新报道，让AI判断有没有负面舆情，有负面的话立刻发飞书消息给公关负责人，没有的话就不用发了。",
])
def test_an_action_only_if_the_ai_says_so_sits_on_that_case(prompt):
    # "only email me if …" was a case labelled "only"; "otherwise don't send anything" removed the email;
    # "有没有负面舆情" was a category made of the whole clause
    g = build(prompt)
    cls = [n for n in iter_all_nodes(g) if kind(n) == "llm" and n.config.output_schema][-1]
    cats = cls.config.output_schema["properties"]["category"]["enum"]
    cond = next(n for n in iter_all_nodes(g) if kind(n) == "condition")
    (case,) = cond.config.cases
    label = case.when.split('== "')[1].rstrip('"')
    assert label in cats and len([c for c in cats if c != "other"]) == 2
    sent = [e.target for e in g.edges if e.source == cond.id and e.source_handle == case.id]
    assert [service(nodes(g)[t]) for t in sent] == ["feishu" if "飞书" in prompt else "email"]
    assert not [e for e in g.edges if e.source == cond.id and e.source_handle == "else" and e.target != "result"]


def test_looking_whether_a_store_has_new_reviews_is_a_read_not_a_judgement():
    g = build("每隔一小时看一下我们淘宝店有没有新的差评，有的话就发企业微信提醒客服主管")
    assert [service(n) for n in _reads(g)] == ["taobao"]


@pytest.mark.parametrize("prompt, app", [
    # "succeeds" / "ends" were read as a category of a classification the run had no input for
    ("When a Stripe payment succeeds and the amount is over $1,000, send a message to #big-wins on Slack.", "stripe"),
    ("When a Zoom meeting ends, summarize the transcript and add it to Notion", "zoom"),
    ("After every Zoom meeting ends, take the transcript, have AI write meeting notes with action items, and add them "
     "to our 'Meeting notes' database in Notion.", "zoom"),
    # something new in an app, said in Chinese: a manual run
    ("新的GitHub PR提交后，用AI做代码审查，把审查结果评论到PR上", "github"),
    ("把公众号新发布的文章自动改写成小红书风格的文案，保存到飞书文档，不要自动发布", "wechat_official_account"),
    ("每次GitLab合并到main分支之后，自动生成发布说明，发到飞书群", "gitlab"),
    ("学生在问卷星提交作业后，用AI批改并把分数写回到我们的教务系统，不要通知学生。", "wenjuanxing"),
])
def test_an_apps_event_said_with_its_own_verb_is_the_trigger(prompt, app):
    g = build(prompt)
    assert trigger(g) == "app_event" and g.nodes[0].config.trigger.service == app
    assert not [n for n in iter_all_nodes(g) if kind(n) == "llm" and n.config.output_schema
                and "category" in n.config.output_schema.get("properties", {})]


def test_checking_whether_the_site_opens_requests_it_and_tests_the_status():
    # "检查一下官网能不能打开" became an AI judging 「能打开」 with no page read
    g = build("每隔一小时检查一下我们官网能不能打开，打不开就发短信给我。")
    assert [service(n) for n in _reads(g)] == ["web"] and not [n for n in g.nodes if kind(n) == "llm"]
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert "status != 200" in cond.config.cases[0].when


@pytest.mark.parametrize("prompt, read, written", [
    # "write the translation back into column C" wrote nothing
    ("Translate every new row in my 'Product descriptions' Google Sheet into Spanish and write the translation back into column C.",
     None, ("google_sheets", "PUT")),
    # "写回表格的D列" of a 腾讯文档 table appended to Google Sheets
    ("我有个腾讯文档表格，里面有500个商品标题，帮我每50个一批，用AI生成小红书风格的商品描述，写回表格的D列。", "tencent_docs", ("tencent_docs", None)),
    # "写回表格的摘要字段" added a second AI step (摘要) and created a new record
    ("把飞书多维表格里的文章逐篇用AI生成一段摘要，写回表格的摘要字段。", "feishu_bitable", ("feishu_bitable", "PUT")),
])
def test_written_back_goes_to_the_table_it_was_read_from(prompt, read, written):
    g = build(prompt)
    assert [service(n) for n in _reads(g)] == ([read] if read else [])
    (write,) = _writes(g)
    assert service(write) == written[0] and (written[1] is None or write.config.method == written[1])
    assert len([n for n in iter_all_nodes(g) if kind(n) == "llm"]) <= 2  # the task (and a translation's review) only


def test_a_groups_discussion_is_read_from_the_group():
    g = build("每天下午6点把今天钉钉群里的讨论总结一下发给我")
    assert [service(n) for n in _reads(g)] == ["dingtalk"] and _reads(g)[0].config.url == "{{ inputs.dingtalk_api_url }}"
    g = build("每天下午6点把今天飞书群里的讨论总结一下发到邮箱")
    assert [service(n) for n in _reads(g)] == ["feishu"] and [service(n) for n in _writes(g)] == ["email"]


def _on_case(g: WorkflowGraph, handle_prefix: str) -> list[str | None]:
    """The services right after the first condition's cases whose handle starts with ``handle_prefix``."""
    cond = next(n for n in iter_all_nodes(g) if kind(n) == "condition")
    return sorted(service(nodes(g)[e.target]) or e.target for e in g.edges
                  if e.source == cond.id and (e.source_handle or "").startswith(handle_prefix))


def test_a_quoted_value_after_its_apostrophe_is_the_value():
    # "if it's 'warning'" compared severity with "s" (the quote of "it's")
    g = build("Our monitoring tool posts alerts to a webhook. If severity is 'critical', create a PagerDuty incident and post "
              "in #oncall; if it's 'warning', just post in #alerts on Slack; ignore 'info' alerts.")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when.split("== ")[1] for c in cond.config.cases] == ['"critical"', '"warning"']


def test_the_other_categories_listed_together_are_the_else_side():
    # "Positive and neutral reviews go into the sheet" after "if it's negative, …" was dropped
    g = build("We receive product reviews via a webhook. Run sentiment analysis on each with AI; if it's negative, create a "
              "Trello card for the support team. Positive and neutral reviews go into the 'Testimonials' Google Sheet.")
    assert _on_case(g, "negative") == ["trello"] and _on_case(g, "else") == ["google_sheets"]


def test_updating_the_table_in_a_docs_app_writes_there():
    # "就只更新一下腾讯文档里的订单表" read the table
    g = build("支付系统回调我们的webhook时，如果支付状态是“失败”，就发短信提醒用户重新支付，并在飞书群里告警；如果成功，就只更新一下腾讯文档里的订单表。")
    assert not _reads(g) and _on_case(g, "else") == ["tencent_docs"]


def test_each_answer_of_a_choice_said_after_a_comma_is_a_case():
    # "判断是好评还是差评，差评就…，好评不用处理" made 差评就在钉钉上通知… a category and no condition
    g = build("每天晚上10点读取当天所有有赞订单的评价，逐条让AI判断是好评还是差评，差评就在钉钉上通知客服跟进，好评不用处理。")
    cls = next(n for n in iter_all_nodes(g) if kind(n) == "llm")
    assert [c for c in cls.config.output_schema["properties"]["category"]["enum"] if c != "other"] == ["好评", "差评"]
    body = next(n for n in g.nodes if kind(n) == "loop").config.body
    cond = next(n for n in body.nodes if kind(n) == "condition")
    sent = [e for e in body.edges if e.source == cond.id and kind(nodes(g)[e.target]) == "tool"]
    assert len(sent) == 1 and '"差评"' in next(c.when for c in cond.config.cases if c.id == sent[0].source_handle)


def test_making_a_document_in_a_docs_app_creates_it():
    # "在语雀里给他建一篇入职指引文档" read 语雀's documents
    g = build("HR在飞书多维表格里新增一条入职记录时，给新员工发一封欢迎邮件，在飞书群里发消息欢迎他，同时在语雀里给他建一篇入职指引文档。")
    assert not _reads(g) and sorted(service(n) for n in _writes(g)) == ["email", "feishu", "yuque"]


def test_a_support_agent_answering_users_is_a_chat_and_its_case_is_what_the_ai_judges():
    g = build("做一个电商售后客服智能体，根据售后政策知识库回答用户问题；如果AI判断用户情绪很激动或者要投诉，就在企业微信里通知人工客服介入。")
    assert trigger(g) == "chat"
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert cond.config.cases[0].when.endswith('== "用户情绪很激动或者要投诉"')  # not "ai判断用户…"


def test_a_pull_requests_review_outcomes_are_comments_on_it():
    # "request changes on the PR" / "leave a short approving comment" were an approval wait and nothing
    g = build("When a pull request is opened on GitHub, have AI review the diff. If it finds any security issues, request "
              "changes on the PR with its comments; if not, just leave a short approving comment.")
    assert not [n for n in g.nodes if kind(n) == "wait"]
    assert _on_case(g, "security") == ["github"] and _on_case(g, "else") == ["github"]
    assert all(n.config.url.endswith("/comments") for n in _writes(g))


@pytest.mark.parametrize("prompt, url", [
    # "从我们CRM的接口（GET /api/sales/weekly）拉…" read nothing
    ("每周五下午5点，从我们CRM的接口（GET /api/sales/weekly）拉本周销售数据，让AI写成周报，发到飞书销售群",
     "{{ inputs.crm_base_url }}/api/sales/weekly"),
    ("Daily at 9: check our inventory API (GET /inventory) and email me the SKUs with low stock",
     "{{ inputs.inventory_base_url }}/inventory"),
])
def test_a_get_on_our_own_api_path_is_the_read(prompt, url):
    assert [n.config.url for n in _reads(build(prompt))] == [url]


def test_an_app_named_only_by_lookup_after_from_is_read():
    # "从Moka拉…" ("moka" is too ambiguous for free-text detection) read nothing
    assert [service(n) for n in _reads(build("每周一早上9点半，从Moka拉上周所有新投递的简历，让AI总结，发到飞书"))] == ["moka"]


def test_refusing_the_emails_keeps_the_document_they_are_saved_in():
    # "邮件先别发出去！" refused every delivery, the 腾讯文档 the drafts go to as well
    g = build("每月1号上午10点，从金蝶拉上个月的应收账款，让AI给每家写一封催款邮件的草稿，统一存到腾讯文档里给我审。邮件先别发出去！")
    assert [service(n) for n in _writes(g)] == ["tencent_docs"]


@pytest.mark.parametrize("prompt, read, sent", [
    # "再让AI简单点评两句" after the push ran after it and went nowhere
    ("给运营群（飞书）每天晚上8点推送一下今天抖音账号的数据：播放量、点赞、新增粉丝，再让AI简单点评两句。", "douyin", "feishu"),
    # and "today's Shopify sales numbers" POSTed to Shopify's products
    ("Every evening post today's Shopify sales numbers to #sales on Slack, and have AI add a short comment on them.", "shopify", "slack"),
])
def test_an_ai_remark_after_a_push_nobody_watches_goes_into_the_push(prompt, read, sent):
    g = build(prompt)
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "llm", "tool"]
    assert [service(n) for n in _reads(g)] == [read] and [service(n) for n in _writes(g)] == [sent]


def test_booking_on_a_calendar_creates_the_event_and_the_calendar_said_again_is_the_same():
    # "book a viewing on the listing agent's Google Calendar" read the calendar and added an AI agent
    g = build("New listing inquiry form → if the buyer says they're pre-approved for a mortgage, book a viewing on the listing "
              "agent's Google Calendar and email the agent the buyer's details. If they aren't, DON'T book anything, just "
              "email the buyer our mortgage partner's info.")
    assert not _reads(g) and not [n for n in iter_all_nodes(g) if kind(n) == "agent"]
    assert "google_calendar" in [service(n) for n in _writes(g)]
    # "once approved, add it to the calendar" (the team Google Calendar named before) wrote nothing
    g = build("When an employee submits the PTO request form: if it's 3 days or less, auto-approve it and add it to the team "
              "Google Calendar. If it's longer, wait for their manager's approval first; once approved, add it to the "
              "calendar and email the employee that it's approved.")
    assert [service(n) for n in _writes(g)].count("google_calendar") == 2


def test_who_says_it_is_not_part_of_the_case():
    # "如果员工说想离职" tested the category 员工说想离职
    g = build("做个HR问答小助手，员工直接跟它聊天：问请假、报销这类制度问题，就从员工手册知识库里找答案回复；如果员工说想离职，"
              "就发邮件通知HRBP；其他闲聊礼貌回应就好。")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when.split("== ")[1] for c in cond.config.cases] == ['"离职"']


@pytest.mark.parametrize("prompt, url_end", [
    ("Every Monday at 9am, pull open issues from GitHub and post a summary to Slack", "/issues"),  # read the PRs
    ("Every Monday list the merged pull requests in GitHub and post them to Slack", "/pulls"),
    ("每天汇总飞书多维表格里的新记录发到群里", "/records"),  # listed the tables, not their records
    ("每天晚上把企业微信的客户列表同步到飞书多维表格", "{{ inputs.wecom_api_url }}"),  # read nothing / GET on the bot's send URL
])
def test_a_read_asks_the_endpoint_of_what_is_named(prompt, url_end):
    assert [n.config.url.endswith(url_end) for n in _reads(build(prompt))] == [True]


def test_a_group_message_goes_to_the_suites_messenger_not_a_sheet():
    # "发到群里" appended a row to Google Sheets
    g = build("每天汇总飞书多维表格里的新记录发到群里")
    assert [service(n) for n in _writes(g)] == ["feishu"]
    assert not _writes(build("帮我把这份年会通知改得活泼一点，适合直接发在公司大群里，别超过200字"))  # a style, not a send


def test_checking_the_server_api_for_errors_requests_it():
    # no request was made and an AI with no input decided whether there was an error
    g = build("每隔5分钟检查一次服务器接口，如果返回错误就在钉钉群里报警")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "condition", "tool"]
    assert "status != 200" in g.nodes[2].config.cases[0].when


def test_no_change_do_not_send_refuses_only_its_own_side():
    # "没变化不要发消息" removed the message of the "有变化就发飞书" side too
    g = build("每天抓取竞品官网的价格，有变化就发飞书消息提醒我，没变化不要发消息")
    assert [service(n) for n in _writes(g)] == ["feishu"]


def test_just_doing_something_else_after_a_refusal_is_done():
    # "don't send it to the customer — just post the draft in Slack for an agent to review" posted nothing
    # and "an agent to review" (a person) added an AI agent node
    g = build("When a new Zendesk ticket arrives, search our knowledge base for an answer and draft a reply, but don't send "
              "it to the customer — just post the draft in Slack for an agent to review")
    assert [service(n) for n in _writes(g)] == ["slack"] and not [n for n in g.nodes if kind(n) in ("agent", "condition")]


def test_backing_up_records_reads_them_first():
    # "back up all Airtable records … to an S3 bucket" appended to Airtable instead of reading it
    g = build("Every night back up all Airtable records from the Inventory base to an S3 bucket")
    assert [service(n) for n in _reads(g)] == ["airtable"] and [service(n) for n in _writes(g)] == ["s3"]


def test_the_approved_draft_is_what_is_sent():
    # "审批通过后再回复" wrote a fresh answer after the approval: the approved draft was not what went out
    g = build("淘宝店铺有差评时，自动生成回复草稿，先让我审批，审批通过后再回复，不要直接回复")
    assert [kind(n) for n in g.nodes[1:4]] == ["llm", "wait", "api"] and len([n for n in g.nodes if kind(n) == "llm"]) == 1


def test_a_notion_page_is_not_a_page_to_someone_nor_a_knowledge_base():
    # "every new Notion page in our Docs database" searched a knowledge base and created a second Notion page
    g = build("Translate every new Notion page in our Docs database into Spanish and save the translation back into Notion")
    assert not [n for n in g.nodes if kind(n) == "knowledge"] and [service(n) for n in _writes(g)] == ["notion"]
    g = build("If the error rate is above 5%, page the on-call engineer via PagerDuty")
    assert [service(n) for n in _writes(g)] == ["pagerduty"]


def test_for_each_one_is_no_category():
    # "for each one email the customer …" classified every payment as "one" and emailed only those
    g = build("Daily at 7am, fetch failed Stripe payments from the last 24 hours and for each one email the customer a "
              "payment update reminder.")
    body = next(n for n in g.nodes if kind(n) == "loop").config.body
    assert [kind(n) for n in body.nodes] == ["tool"]


def test_a_short_condition_after_the_ai_step_is_a_case_of_its_answer():
    # "用AI筛选简历，合适的话…" tested the category 用ai筛选简历; "是否合理…不合理的" had a third category
    g = build("有人通过招聘表单投递简历时，用AI筛选简历，合适的话在飞书上通知HR约面试，不合适就不用管了。")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert cond.config.cases[0].when.endswith('== "合适"')
    g = build("每周一早上把上周的退款申请从有赞导出来，逐条判断是否合理，不合理的发到飞书群让我看一下。")
    assert [service(n) for n in _reads(g)] == ["youzan"]  # 从有赞导出来 read nothing
    cls = next(n for n in iter_all_nodes(g) if kind(n) == "llm")
    assert [c for c in cls.config.output_schema["properties"]["category"]["enum"] if c != "other"] == ["合理", "不合理"]


def test_a_chatbot_without_a_knowledge_base_reads_none():
    g = build("做一个陪用户练英语口语的聊天机器人，不需要知识库")  # "不需要知识库" added a knowledge search
    assert trigger(g) == "chat" and not [n for n in g.nodes if kind(n) == "knowledge"]


@pytest.mark.parametrize("prompt, sent", [
    # "Don't notify anyone, just log …" refused the log too
    ("When a new issue is opened in our GitHub repo, have AI decide whether it's a bug, a feature request or a question. "
     "Don't notify anyone, just log the issue title and the category in a Google Sheet.", ["google_sheets"]),
    # "Don't send anything until I approve it" refused the send the approval leads to
    ("When a prospect replies to our cold outreach in Gmail, have AI draft a response. Don't send anything until I "
     "approve it; once approved, send the reply from Gmail.", ["email"]),
])
def test_a_refusal_that_says_what_to_do_instead_or_when_keeps_that(prompt, sent):
    g = build(prompt)
    assert [service(n) for n in _writes(g)] == sent
    waits = [n for n in g.nodes if kind(n) == "wait"]
    assert all(not n.config.approval.approvers for n in waits)  # "until I" is no approver


def test_publishing_a_new_video_is_the_event_and_every_half_hour_a_schedule():
    g = build("Every time we publish a new YouTube video, share it on our Discord server and on X (Twitter) at the same time.")
    assert trigger(g) == "app_event" and sorted(service(n) for n in _writes(g)) == ["discord", "twitter"]
    g = build("每隔半小时查一下淘宝上RTX 4070显卡的价格，低于3000块就微信通知我")
    assert g.nodes[0].config.trigger.cron == "*/30 * * * *"


def test_colleagues_are_told_on_the_workplace_messenger_the_event_came_from():
    g = build("钉钉里有人提交请假审批时，如果请假天数大于3天，就发消息通知部门总监；3天以内的不用处理。")
    assert [service(n) for n in _writes(g)] == ["dingtalk"]  # it was an email


def test_publish_both_posts_each_draft_where_it_was_written_for():
    # "write a LinkedIn post and a tweet …, then publish both" posted to LinkedIn only
    g = build("When a new RSS item appears on our company blog, write a LinkedIn post and a tweet with AI, wait for my "
              "approval, then publish both")
    assert sorted(service(n) for n in _writes(g)) == ["linkedin", "twitter"]
    assert [service(n) for n in _writes(build("Write a LinkedIn post about our launch, wait for my approval, then publish it"))] == ["linkedin"]
