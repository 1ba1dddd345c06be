"""Fresh requests from the ninth stop's reviews and dev11: the workflow does what was asked."""

from __future__ import annotations

import pytest

from tests.unit.test_offline_planner import _reads, _writes, build, first_condition, kind, nodes, out_of, service, trigger


def test_emailing_me_the_digest_sends_the_summary_already_written():
    # "summarize them and email me the digest" summarised twice: "email me the digest" wrote another one
    g = build("Every morning at 8, fetch the top stories from Hacker News, summarize them and email me the digest")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "llm", "tool"] and len([n for n in g.nodes if kind(n) == "llm"]) == 1
    g = build("Every morning at 8, fetch the top stories from Hacker News and email me the digest")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "llm", "tool"] and len(_writes(g)) == 1


def _order(graph) -> list[str]:
    return [kind(n) for n in graph.nodes[1:-1]]


def test_the_message_that_asks_for_approval_goes_out_before_the_wait():
    # "send me the draft on Slack for approval, and once I approve it, send it through Mailchimp" waited
    # first and only then posted the draft to Slack; the approver was "once i"
    g = build("Once a week, draft a newsletter from the posts published on our blog this week (read them from our "
              "WordPress RSS feed), send me the draft on Slack for approval, and once I approve it, send it through "
              "Mailchimp to our subscribers list.")
    assert _order(g) == ["api", "llm", "tool", "wait", "api"]
    wait = next(n for n in g.nodes if kind(n) == "wait")
    assert not wait.config.approval.approvers
    g = build("When a new lead comes in via webhook, draft a personalized email, send it to me on Slack for review, "
              "and after I approve it send it via Gmail")
    assert _order(g) == ["llm", "tool", "wait", "tool"]
    g = build("每周五下午写一篇公众号文章草稿，发到飞书让我审核，审核通过后发布到公众号")
    assert _order(g) == ["llm", "tool", "wait", "api"]


def _chained(graph) -> list[tuple[str, str]]:
    """(service, service) of every two top-level deliveries where the first one leads to the other."""
    after: dict[str, set[str]] = {}
    for e in graph.edges:
        after.setdefault(e.source, set()).add(e.target)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in after.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    writes = _writes(graph)
    return [(service(a), service(b)) for a in writes for b in writes if b.id in reach(a.id)]


def test_deliveries_said_to_happen_at_once_fan_out():
    # each of these ran its deliveries one after the other
    g = build("Every 5 minutes, call our health endpoint https://api.example.com/health. If the status code isn't 200, "
              "page the on-call engineer through PagerDuty and post in #incidents on Slack at the same time.")
    assert _chained(g) == [] and len(_writes(g)) == 2
    g = build("When I submit an announcement through a form, post it to the #general channel in Slack, to Microsoft Teams, "
              "and email it to all-staff@company.com, all at once.")
    assert _chained(g) == [] and len(_writes(g)) == 3
    g = build("监控系统会通过webhook推送告警。告警级别是P0的，同时发短信给值班人、发钉钉群消息；P1的只发钉钉群；其他级别的记到告警日志表里就行。")
    assert _chained(g) == [] and len(_writes(g)) == 4
    g = build("候选人通过招聘表单投简历后，用AI给简历打分（满分100）。超过80分的自动发面试邀请邮件，同时在企业微信上通知HR；其余的存到人才库表格里。")
    assert _chained(g) == [] and len(_writes(g)) == 3
    # said of nothing: still one after the other
    assert _chained(build("If the score is above 8, email the candidate and then post in #hiring on Slack")) == [("email", "slack")]


def test_a_wait_in_the_else_of_a_branch_in_a_loop_comes_out_of_the_loop():
    # the else's approval stayed inside the loop body: the generator raised "invalid graph" (wait_in_loop)
    from pilot.workflows.validation import iter_all_nodes, validate_graph

    for prompt in ("逐条检查昨天的退款申请：金额大于500的等我审批通过后再退款，否则等主管审批后发邮件通知客户。",
                   "Go through yesterday's refund requests one by one: if the amount is over $500 wait for my approval, "
                   "otherwise wait for the team lead's approval and then email the customer."):
        g = build(prompt)
        assert validate_graph(g).valid
        loops = [n for n in iter_all_nodes(g) if kind(n) == "loop"]
        assert all(kind(x) != "wait" for n in loops for x in n.config.body.nodes)
        assert len([n for n in g.nodes if kind(n) == "wait"]) == 2 and [service(n) for n in _writes(g)] == ["email"]


def test_what_is_only_sent_but_must_be_written_gets_an_ai_step():
    # a motivational quote, a review question, a prep note: sent with nothing to send
    for prompt in ("Send me a motivational quote on Telegram every morning at 7.", "每天晚上10点给我出一道英语单词复习题，通过企业微信发给我。"):
        g = build(prompt)
        assert [kind(n) for n in g.nodes[1:-1]][0] == "llm" and len(_writes(g)) == 1
    g = build("Every evening at 9pm, look at tomorrow's events in my Google Calendar and send me a WhatsApp message with a "
              "short prep note for each meeting.")
    body = next(n for n in g.nodes if kind(n) == "loop").config.body
    assert kind(body.nodes[0]) == "llm" and len(body.nodes) == 2 and "with" not in body.nodes[1].title  # not "… (with)"


def test_a_verb_or_a_modal_is_not_a_case_label():
    # "保存到Notion" was a case "保" (存到 Notion); "An assistant that can send …" a case "assistant that can"
    g = build("根据我给的课文内容，出10道选择题并附上答案，保存到Notion")
    assert [kind(n) for n in g.nodes[1:-1]] == ["llm", "api"]
    g = build("An assistant that can send Slack messages and emails on my behalf")
    assert not [n for n in g.nodes if kind(n) in ("condition", "llm")] and len(_writes(g)) == 2


def _else_writes(graph) -> list[str]:
    """The service written first on the else side of the first condition."""
    head = nodes(graph).get(out_of(graph, first_condition(graph).id).get("else"))
    return [service(head)] if head is not None and head in _writes(graph) else []


def test_the_other_side_of_a_threshold_said_without_if_is_the_else():
    # "Anything $1,000 or less just gets posted…" and "All other orders should just be appended…" ran for every item,
    # after the branch; "Anything $200 or under just gets added to …" did nothing
    g = build("Employees submit expenses through a form. If the amount is over $1,000, wait for their manager's approval and, "
              "once approved, add it to the 'Approved Expenses' Google Sheet. Anything $1,000 or less just gets posted to "
              "#finance in Slack for visibility.")
    assert _else_writes(g) == ["slack"]
    g = build("Expense form: when an employee submits an expense over $200, it needs their manager's approval before it's "
              "logged in QuickBooks. Anything $200 or under just gets added to the 'Small expenses' Google Sheet.")
    assert _else_writes(g) == ["google_sheets"]
    g = build("When a new Shopify order comes in with a total over $200, tag the customer as VIP in Klaviyo and send them a "
              "personal thank-you email. All other orders should just be appended to our 'Orders' Google Sheet.")
    assert _else_writes(g) == ["google_sheets"]
    # the tag is given and put in Klaviyo: nothing classified, nothing tagged in Shopify
    assert sorted(service(n) for n in _writes(g)) == ["email", "google_sheets", "klaviyo"]
    # the only AI step writes the thank-you email (pilot.generation.planner_messages): none classifies
    assert [n.config.output_schema for n in g.nodes if kind(n) == "llm"] == [None]


def _loops(graph) -> list:
    from pilot.workflows.validation import iter_all_nodes

    return [n for n in iter_all_nodes(graph) if kind(n) == "loop"]


def test_the_ones_picked_out_are_what_each_is_done_for():
    # "find the ones that are still unpaid" was a fetch of a service called "ones that are still unpaid", side by
    # side with QuickBooks, and "email each of those clients" one email for all
    g = build("On the 1st of every month at 9am, pull last month's invoices from QuickBooks, find the ones that are still "
              "unpaid, and email each of those clients a payment reminder.")
    assert [kind(n) for n in g.nodes[1:-1]] == ["api", "transform", "loop"]
    picked = g.nodes[2]
    assert picked.config.mode == "filter" and "unpaid" in picked.config.where
    assert _loops(g)[0].config.items == "{{ nodes.%s.output }}" % picked.id


def test_one_by_one_said_twice_is_one_loop():
    # "一条条拿出来" was no loop; "一条条过一遍，让AI给每条打分" and "Go through every …. For each one" were a loop in a loop
    g = build("每天下午6点，把今天GitHub仓库里新建的issue一条条拿出来，让AI判断是bug还是功能需求，是bug的就在飞书上发消息给开发负责人。")
    assert len(_loops(g)) == 1 and [kind(n) for n in _loops(g)[0].config.body.nodes][-1] == "tool"
    g = build("Go through every open invoice in QuickBooks. For each one, if it is more than 30 days overdue send the customer "
              "a reminder email, otherwise skip it.")
    assert len(_loops(g)) == 1 and len(_writes(g)) == 1
    # "把待办事项一条条拆出来，然后逐条在Jira里建任务": the AI splits them out, the loop goes over them
    g = build("Notion的会议纪要数据库里新建一页时，让AI把里面的待办事项一条条拆出来，然后逐条在Jira里建任务，指派给对应的负责人")
    assert [kind(n) for n in g.nodes[1:-1]] == ["llm", "loop"]


def test_for_the_ones_of_a_category_is_a_case_of_it():
    # "for negative ones, alert #social-team" alerted on every mention; "negative ones," alone posted to a service "ones"
    for says in ("for negative ones", "negative ones"):
        g = build("Every hour, search Twitter for mentions of our brand 'Acme'. Classify the sentiment of each mention as "
                  f"positive, neutral or negative; {says}, alert #social-team on Slack. Do nothing with the rest.")
        body = _loops(g)[0].config.body
        cond = next(n for n in body.nodes if kind(n) == "condition")
        assert cond.config.cases[0].when.endswith('== "negative"') and [service(n) for n in _writes(g)] == ["slack"]


def test_approve_or_reject_is_an_approval_whose_outcome_branches():
    g = build("When someone requests software access through our IT request form, have their manager approve or reject it. "
              "If approved, create a Jira ticket for IT to provision the access; if rejected, email the requester to let them know.")
    wait = next(n for n in g.nodes if kind(n) == "wait")
    assert wait.config.approval.approvers == ["their manager"]
    assert sorted(service(n) for n in _writes(g)) == ["email", "jira"]


def test_updating_the_event_record_writes_it():
    # "update the HubSpot contact with …" after a new HubSpot contact wrote nothing (the run only "wrote" an answer)
    g = build("When a new contact is created in HubSpot, look up their company in Clearbit and update the HubSpot contact "
              "with the industry and employee count.")
    assert [service(n) for n in _writes(g)] == ["hubspot"]


def test_a_birthday_wish_is_sent_not_something_that_happens():
    # "发生日祝福" read 发生 (happens): no send, no loop
    g = build("每天早上9点查一下员工花名册，今天过生日的同事，逐个在钉钉上给他发生日祝福。")
    assert [service(n) for n in _loops(g)[0].config.body.nodes] == ["dingtalk"]


def _read_services(graph) -> list[str]:
    return [service(n) for n in _reads(graph)]


@pytest.mark.parametrize("prompt, read", [
    # the table was written to (登记 read as a write) and nothing was read
    ("每周五下午5点，把这周多维表格里登记的选题拿出来，让AI写一篇公众号推文草稿，存到公众号的草稿箱里。", ["feishu_bitable"]),
    # rows said to be in a file or table are read from it
    ("我有个Excel表里有2000条客户留言，帮我每100条一批，用AI分成咨询、投诉、建议三类，结果写回表格里。", ["excel_file"]),
    ("MySQL商品表里有3000多条商品标题，按每100条一批让AI改写成更适合搜索的标题，改好后写回数据库的new_title字段", ["mysql"]),
    # "在纷享销客里新增的客户" are records created there: read, not written
    ("每个工作日晚上7点，汇总销售今天在纷享销客里新增的客户和商机，生成一份销售日报，发到钉钉群，同时存一份到飞书文档。", ["fxiaoke"]),
    # a path of our own API is requested
    ("每天凌晨2点调一下我们的 /api/backup/status 接口，看昨晚备份文件的大小，如果小于100MB就在钉钉群里告警，否则啥也不做。", ["api"]),
    # a table of the user's own is read as well as Kingdee
    ("每月1号上午10点，从银行流水表格里拿上个月的所有交易，逐笔和金蝶里的凭证核对，对不上的记到异常表里，最后发一封汇总邮件给财务经理。",
     ["service", "kingdee"]),  # an unnamed table: the generic service (titled 获取 银行流水表格)
])
def test_what_the_data_is_in_is_read(prompt, read):
    assert _read_services(build(prompt)) == read


def test_a_form_made_in_the_request_starts_the_run_and_1号_is_part_of_the_time():
    assert trigger(build("做个活动报名表，收集姓名、手机号和公司，提交后存到飞书多维表格里。")) == "form"
    g = build("每月1号上午10点，从银行流水表格里拿上个月的所有交易，逐笔和金蝶里的凭证核对，对不上的记到异常表里，最后发一封汇总邮件给财务经理。")
    assert not any("1号" in n.title for n in g.nodes)
    assert _loops(g)[0].config.items.startswith("{{ nodes.fetch_table.")  # the bank rows, one by one


def _cases(graph) -> list[str]:
    from pilot.workflows.validation import iter_all_nodes

    return [c.when for n in iter_all_nodes(graph) if kind(n) == "condition" for c in n.config.cases]


def test_a_threshold_with_no_field_before_it_and_a_named_field_compare():
    # "fewer than 10 units in stock" became a category; "status 字段等于 SUCCESS" too; "one summary email" ran per product
    g = build("Every day at 10am, check inventory levels in Shopify. For every product with fewer than 10 units in stock, create "
              "a reorder record in our Airtable 'Reorders' table. After that, send one summary email to purchasing@ourstore.com "
              "listing everything that was reordered.")
    assert _cases(g) == ["item.units < 10"] and [kind(n) for n in g.nodes[-3:-1]] == ["llm", "tool"]
    g = build("支付回调会以webhook推过来。如果 status 字段等于 SUCCESS，就把订单状态更新到MySQL里，并给用户发一条短信；否则在企业微信里通知技术同学排查。")
    assert _cases(g) == ['inputs.payload.status == "SUCCESS"']
    # a query string in a URL is no condition
    g = build("每天晚上10点，从工单系统接口（GET /api/tickets?date=today）拉当天所有工单的客户回复，让AI挑出可能需要退款的订单列个清单")
    assert _cases(g) == []


def _schema(graph) -> dict:
    return next(n.config.output_schema for n in graph.nodes if kind(n) == "llm")


def test_what_the_ai_is_asked_to_return_is_its_output():
    # "tell me the product name, the price and whether it's in stock" wrote free text
    g = build("Given a product page URL, fetch the page and tell me the product name, the price and whether it's in stock.")
    assert list(_schema(g)["properties"]) == ["product_name", "price", "in_stock"]
    # "Grade each essay with AI on a 1–10 scale" had no score; one essay per submission is no loop
    g = build("Students submit their essays through a form. Grade each essay with AI on a 1–10 scale and write feedback, "
              "save the grade to our Gradebook Google Sheet, and email the student their feedback.")
    assert _schema(g)["properties"]["score"]["type"] in ("number", "integer") and not _loops(g)
    assert next(n for n in g.nodes if kind(n) == "tool").title == "Send to Email (student)"
    # "返回情感倾向（正面/负面/中性）" wrote free text
    g = build("提供一个接口：传入一段用户评论，返回情感倾向（正面/负面/中性）和置信分数。")
    assert _schema(g)["properties"]["category"]["enum"][:3] == ["正面", "负面", "中性"]


def test_from_the_review_of_fresh_requests():
    # "When a new Stripe payment over $500 comes in, …; for payments under $500 just log …": Mailchimp and the email ran
    # for every payment, before the condition
    g = build('When a new Stripe payment over $500 comes in, add the customer to the "VIP" list in Mailchimp and send a '
              'thank-you email via Gmail; for payments under $500 just log the payment to a Google Sheet.')
    assert kind(g.nodes[1]) == "condition" and len(_writes(g)) == 3
    # "summarize my unread gmail … and text me": nothing was read and an email was sent too
    g = build("summarize my unread gmail every evening at 6 and text me the important ones")
    assert _read_services(g) == ["email"] and [service(n) for n in _writes(g)] == ["sms"]
    # "把今天的天气和我的日程发到我的微信": an empty message
    g = build("每天早上8点把今天的天气和我的日程发到我的微信")
    assert len(_read_services(g)) == 2
    # "超过90%就发短信给运维，超过70%发企业微信通知": both sends on the 90% side, nothing read
    g = build("每隔30分钟检查一次服务器CPU使用率，超过90%就发短信给运维，超过70%发企业微信通知。")
    assert _read_services(g) == ["service"] and len(_cases(g)) == 2
    assert _chained(g) == []


@pytest.mark.parametrize("said, cron", [
    ("每月最后一天下午6点", "0 18 L * *"),  # ran on the 1st
    ("on the last day of every month at 6pm", "0 18 L * *"),
    ("on the 15th of every month at 9am", "0 9 15 * *"),  # ran on the 1st
    ("每月1号下午6点", "0 18 1 * *"),
])
def test_the_day_of_the_month_is_the_one_said(said, cron):
    from pilot.chat.phrases import describe_cron
    from pilot.triggers.schedule import check, next_after

    g = build(f"{said}，从金蝶导出应收账款，让AI分析账龄，发给老板的企业微信" if not said.isascii() else
              f"{said}, pull the open invoices from Xero and email me a summary")
    assert g.nodes[0].config.trigger.cron == cron
    check(cron, "UTC")
    if cron.split()[2] == "L":
        from datetime import datetime, timezone

        assert next_after(cron, "UTC", datetime(2026, 2, 3, tzinfo=timezone.utc)).day == 28
        assert describe_cron(cron, "en") == "on the last day of every month at 18:00"


def test_each_record_read_gets_the_action_asked_and_the_wiki_is_searched():
    # "go through all open Jira issues … and comment on each one": no loop, no comment (an AI "answer" instead)
    g = build("Every Friday at 4pm, go through all open Jira issues assigned to my team that haven't been updated in 7 days "
              "and comment on each one asking for a status update.")
    assert [n.config.service for n in _loops(g)[0].config.body.nodes] == ["jira"]
    assert _loops(g)[0].config.body.nodes[0].config.url.endswith("/comment")
    # "answers questions about our game using the wiki" searched nothing
    g = build("A Discord bot that answers questions about our game using the wiki, in English.")
    assert [kind(n) for n in g.nodes[1:3]] == ["knowledge", "llm"]


@pytest.mark.parametrize("prompt, service", [
    # each started by hand (and the Typeform one fetched every response)
    ("Typeform job application submitted -> have AI score the resume 1-10. Score 8 or higher: add candidate to Greenhouse "
     "and email the hiring manager. Below 8: send a polite rejection email to the candidate.", "typeform"),
    ("shopify orders over $500 -> post them in #big-orders on slack", "shopify"),
])
def test_an_event_before_an_arrow_starts_the_run(prompt, service):
    g = build(prompt)
    assert trigger(g) == "app_event" and g.nodes[0].config.trigger.service == service
    assert not [n for n in _read_services(g) if n == service]


def test_a_case_said_as_two_categories_is_the_rest_of_them():
    # "if it's neutral or positive, …" compared the answer with "neutral or positive": the note was never added
    g = build("New Zendesk ticket comes in: classify sentiment with AI. If it's angry, page the on-call support lead via "
              "PagerDuty; if it's neutral or positive, just add an internal note with a suggested reply.")
    cls = next(n for n in g.nodes if kind(n) == "llm")
    assert [c for c in cls.config.output_schema["properties"]["category"]["enum"] if c != "other"] == ["angry", "neutral", "positive"]
    assert _cases(g) == ['nodes.classify.output.category == "angry"'] and _else_writes(g) == ["zendesk"]


def test_case_labels_name_the_categories():
    # "意向为高的" compared the answer with 意向为高 (no answer is that)
    g = build("飞书多维表格里新增一条客户线索时，让AI根据公司名称和需求描述判断意向等级（高/中/低），把等级回填到这条记录里。意向为高的，再发飞书消息给销售总监。")
    assert _cases(g) == ['nodes.classify.output.category == "高"']
    # "分成 账号、支付、其他 三类" lost 其他 and the 支付 case: the 禅道 task ran for every ticket
    g = build("客户在官网表单提交工单后，让AI把工单分成 账号、支付、其他 三类：账号类的发到账号组的企业微信群，支付类的在禅道建一个任务给财务，其他的发邮件到 support@ 邮箱。")
    assert len(_cases(g)) == 2 and _else_writes(g) == ["email"]


def test_asking_someone_for_something_by_email_emails_them():
    # "if positive, ask them for a review by email": the positive branch did nothing
    g = build("New Typeform survey response → run sentiment analysis; if negative, create a Trello card on the 'Follow up' "
              "board and notify customer success on Microsoft Teams; if positive, ask them for a review by email.")
    assert sorted(service(n) for n in _writes(g)) == ["email", "teams", "trello"]


def test_a_record_whose_status_changes_is_that_change_not_a_new_record():
    g = build("当飞书多维表格里某条记录的状态改为“已完成”时，给负责人发一条飞书消息。")
    assert g.nodes[0].config.trigger.event == "record completed"  # it was "new record"


def test_more_from_the_second_review():
    # "Monitor our website uptime every 5 minutes" never requested the site
    g = build("Monitor our website uptime every 5 minutes. If it's down, send an SMS via Twilio to +15551234567 and open an "
              "incident in Opsgenie.")
    assert _read_services(g) and _cases(g) == ["nodes.fetch_page.output.status != 200"]
    # "AI checks it against the curriculum standards … If it scores under 70": no AI step, a form field compared
    g = build("I want a form where teachers upload a lesson plan; AI checks it against the curriculum standards and returns "
              "feedback. If it scores under 70, also notify the department head by email.")
    assert _cases(g) == ["nodes.analyze.output.score < 70"]
    # "email me a list of anything more than 30 days overdue" emailed every open invoice
    g = build("every friday 4pm pull open invoices from xero and email me a list of anything more than 30 days overdue")
    assert [kind(n) for n in g.nodes[1:-1]] == ["api", "transform", "tool"] and g.nodes[2].config.where == "{{ item.days_overdue > 30 }}"


def test_giving_points_after_a_shop_order_is_a_write_in_that_shop():
    # "是会员就送积分" left the member branch empty
    g = build("有赞有新订单时，如果是会员就送积分，不是会员就发短信邀请他注册会员")
    assert sorted(service(n) for n in _writes(g)) == ["sms", "youzan"] and len(_cases(g)) == 1


def test_picked_rows_are_looped_over_and_the_list_goes_out_once():
    # "找出迟到超过3次的员工，逐个…，并把名单发给HR邮箱": the loop went over every attendance row and the HR email
    # went out once per employee
    g = build("每周五下午5点从钉钉考勤拉本周的数据，找出迟到超过3次的员工，逐个给他们发钉钉消息提醒，并把名单发给HR邮箱hr@company.cn")
    assert [kind(n) for n in g.nodes[1:-1]] == ["api", "transform", "loop", "tool"]
    assert g.nodes[2].config.where == "{{ item['迟到次数'] > 3 }}" and _loops(g)[0].config.items == "{{ nodes.filter.output }}"
    # "根据商品类别分别通知不同的仓库" sent a DingTalk message to every order before the cases
    g = build("客户在有赞商城下单后，根据商品类别分别通知不同的仓库：服装类通知A仓（钉钉群），电子类通知B仓（飞书群），其他类通知C仓（企业微信群）。")
    assert sorted(service(n) for n in _writes(g)) == ["dingtalk", "feishu", "wecom"]


def test_reading_refunds_issues_none():
    # "pull last week's Stripe refunds and, if …" issued a refund in Stripe ("refunds a…" of "and" matched "refund a")
    g = build("Every Monday at 8am pull last week's Stripe refunds and, if the total is over $1,000, post a summary to "
              "#finance on Slack; otherwise just log it to our 'Refunds' Google Sheet.")
    assert not [n for n in _writes(g) if service(n) == "stripe"]
    g = build("Refund requests arrive via webhook. Under $50: approve automatically via the Shopify refund API. Over $50: "
              "create an Asana task for finance to review.")
    assert any(n.config.url.endswith("/refunds.json") for n in _writes(g) if service(n) == "shopify")
