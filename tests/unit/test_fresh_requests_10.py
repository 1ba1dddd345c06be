"""Fresh requests from the tenth stop's review and dev12: the workflow does what was asked."""

from __future__ import annotations

from tests.unit.test_offline_planner import _writes, build, kind, nodes, service, trigger


def _path(graph) -> list[str]:
    """Node kinds along the single chain that starts at the trigger (first edge out of each node)."""
    nxt = {}
    for e in graph.edges:
        nxt.setdefault(e.source, e.target)
    at, out = "start", []
    while at in nxt:
        at = nxt[at]
        out.append(at)
    return out


def test_at_the_same_time_is_when_not_who_receives_the_email():
    # "send them a confirmation email at the same time" emailed a run input named at_the_same_time_email
    g = build("When someone fills out our Typeform contact form, add them to HubSpot as a lead and send them a "
              "confirmation email at the same time.")
    mail = next(n for n in _writes(g) if service(n) == "email")
    assert "same_time" not in mail.config.arguments["to"]
    assert sorted(service(n) for n in _writes(g)) == ["email", "hubspot"]


def test_a_summary_that_names_the_values_to_tell_has_them_as_fields():
    # "Summarize this PDF contract and tell me the parties, …" summarised with no parties / date / value
    g = build("Summarize this PDF contract and tell me the parties, the start date and the total value.")
    (llm,) = [n for n in nodes(g).values() if kind(n) == "llm"]
    assert list(llm.config.output_schema["properties"]) == ["summary", "parties", "start_date", "total_value"]
    g = build("Summarize the article and then post it to Slack and Teams.")
    assert all(n.config.output_schema is None for n in nodes(g).values() if kind(n) == "llm")


def test_a_reply_approved_first_goes_back_to_the_shop():
    # "…让AI写好回复，等我审核通过后再回复到有赞": two AI steps in the loop and no reply to 有赞
    g = build("每天晚上10点把有赞上今天的差评一条条拿出来，让AI写好回复，等我审核通过后再回复到有赞")
    every = nodes(g)
    assert [kind(n) for n in every.values() if kind(n) == "llm"] == ["llm"]
    (reply,) = _writes(g)
    assert service(reply) == "youzan" and reply.config.method == "POST"
    assert [kind(every[x]) for x in _path(g)] == ["api", "loop", "wait", "loop", "output"]


def test_a_low_star_review_is_drafted_approved_by_the_named_person_then_answered():
    # "如果是3星及以下的差评…先发给客服主管审核，审核通过后再回复到淘宝上" classified into "3"/"好评", and
    # neither waited for the supervisor nor replied on Taobao
    g = build("淘宝店铺收到新评价时，如果是3星及以下的差评，让AI写一条安抚的回复草稿，先发给客服主管审核，审核通过后再回复到淘宝上；好评就不用管了。")
    every = nodes(g)
    assert every["check"].config.cases[0].when == "inputs.event.rating <= 3"
    assert every["approval"].config.approval.approvers == ["客服主管"]
    assert [kind(every[x]) for x in _path(g)] == ["condition", "llm", "wait", "api", "output"]
    assert [service(n) for n in _writes(g)] == ["taobao"]


def test_a_shop_named_alone_where_something_goes_is_that_shop():
    from pilot.generation.entities import find_integrations

    assert find_integrations("审核通过后回复到有赞")[0] == ["youzan"]
    assert find_integrations("在快手上发视频")[0] == ["kuaishou"]
    assert find_integrations("有赞助商")[0] == [] and find_integrations("到京东买")[0] == []


def _cases(graph) -> dict[str, list[str]]:
    """Condition case id → the services written on that case's path (first condition only)."""
    cond = next(n for n in graph.nodes if kind(n) == "condition")
    every, out = nodes(graph), {}
    for e in (e for e in graph.edges if e.source == cond.id):
        seen, todo = [], [e.target]
        while todo:
            at = todo.pop()
            if at in seen or at == "result":
                continue
            seen.append(at)
            todo += [x.target for x in graph.edges if x.source == at]
        out[e.source_handle] = sorted(service(every[x]) for x in seen if every[x] in _writes(graph))
    return out


def test_label_led_items_sharing_a_noun_are_the_cases():
    # "critical alerts should page …, warning alerts go to …, and anything else …": PagerDuty was paged
    # for every alert and only "warning" was a case
    g = build("When Alertmanager fires a webhook, look at the severity field: critical alerts should page on-call through "
              "PagerDuty, warning alerts go to #ops-alerts in Slack, and anything else just gets logged to a Google Sheet.")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when for c in cond.config.cases] == ['inputs.payload.severity == "critical"', 'inputs.payload.severity == "warning"']
    assert _cases(g) == {"critical": ["pagerduty"], "warning": ["slack"], "else": ["google_sheets"]}
    # "hot leads get a Slack alert and cold leads get a nurture email": the email was fetched, both went to everyone
    g = build("When a lead comes in via webhook, hot leads get a Slack alert and cold leads get a nurture email.")
    assert _cases(g) == {"hot": ["slack"], "cold": ["email"], "else": []}


def test_rate_each_as_one_of_two_is_a_classification():
    g = build("Every morning pull new Zendesk tickets. Have AI rate each as urgent or normal; urgent tickets go to "
              "#support in Slack and normal tickets get a reply email.")
    llm = next(n for n in nodes(g).values() if kind(n) == "llm")
    assert llm.config.output_schema["properties"]["category"]["enum"][:2] == ["urgent", "normal"]


def test_scores_said_as_the_top_two_values_and_everyone_else():
    # "Candidates scoring 4 or 5 get an interview invite email; everyone else gets a polite rejection email":
    # a second scorer, a fetched inbox, and both emails to everyone
    g = build("When a new row is added to our 'Job Applicants' Google Sheet, have AI screen the resume text against the "
              "job description and score the candidate from 1 to 5. Candidates scoring 4 or 5 get an interview invite "
              "email; everyone else gets a polite rejection email.")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when for c in cond.config.cases] == ["nodes.score.output.score >= 4"]
    assert _cases(g) == {"score_ge_4": ["email"], "else": ["email"]} and not [n for n in nodes(g).values() if kind(n) == "api"]
    assert nodes(g)["score"].config.output_schema["properties"]["score"]["description"] == "1-5"
    # "If the score is 9 or 10 … if 7-8 do nothing": 10 fell into "do nothing"
    g = build("Webhook receives a form submission from Typeform with a NPS score. If the score is 9 or 10, ask them for a "
              "G2 review by email; if 7-8 do nothing; if 6 or below create a Freshdesk ticket for the success team.")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert cond.config.cases[0].when == "inputs.payload.score >= 9"


def test_three_score_bands_in_one_sentence():
    # "candidates scoring 80+ get …, those below 50 get …, and the rest wait for a recruiter": one clause, every
    # action for everyone, and the score on a 0-10 scale
    g = build("When a candidate applies through Greenhouse, score the resume against the job description with an LLM; "
              "candidates scoring 80+ get a calendar invite for a phone screen via Calendly link email, those below 50 "
              "get a polite rejection email, and the rest wait for a recruiter to review in Slack.")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when for c in cond.config.cases] == ["nodes.score.output.score >= 80", "nodes.score.output.score < 50"]
    assert nodes(g)["score"].config.output_schema["properties"]["score"]["description"] == "0-100"
    assert any(kind(n) == "wait" for n in nodes(g).values())


def test_a_head_that_names_the_compared_field_and_an_email_is_never_sent_to_a_channel():
    # "check the total: orders over $1000 get flagged in a #big-orders Slack channel and a personal thank-you
    # email sent to the customer; all others …": no condition, Slack history read, the email sent to "#big-orders"
    g = build("When a Shopify order is created, check the total: orders over $1000 get flagged in a #big-orders Slack "
              "channel and a personal thank-you email sent to the customer; all others just get added to a Google Sheet.")
    assert _cases(g) == {"amount_gt_1000": ["email", "slack"], "else": ["google_sheets"]}
    mail = next(n for n in _writes(g) if service(n) == "email")
    assert "big" not in mail.config.arguments["to"]


def test_events_said_as_what_arrives_or_what_someone_does_in_an_app():
    # each of these started by hand
    g = build("When an urgent ticket comes into Zendesk, have AI draft a reply, then wait for a support lead to approve "
              "it before it's posted back to the ticket.")
    assert g.nodes[0].config.trigger.service == "zendesk"
    assert nodes(g)["approval"].config.approval.approvers == ["support lead"]
    g = build("Translate incoming Zendesk tickets that aren't in English into English and add the translation as an "
              "internal note on the ticket.")
    assert g.nodes[0].config.trigger.service == "zendesk"
    assert [kind(n) for n in g.nodes[1:-1]] == ["llm", "api"] and service(g.nodes[2]) == "zendesk"
    g = build("钉钉上有人提交请假申请，请假天数大于3天的要部门经理审批，审批通过就同步到考勤系统，被驳回就钉钉通知申请人。")
    assert g.nodes[0].config.trigger.service == "dingtalk"
    assert nodes(g)["approval"].config.approval.approvers == ["部门经理"]
    g = build("客户在微信公众号发消息，先判断是售前咨询、售后问题还是投诉：售前的转给销售的企业微信，售后的在工单系统里建一个工单，投诉的直接打电话通知客服经理。")
    assert trigger(g) == "app_event"
    # …but a message in a chat window is the chat
    assert trigger(build("用户在聊天窗口发消息时，先让AI判断是闲聊还是投诉：闲聊就直接回复，投诉的转到钉钉客服群")) == "chat"
    assert trigger(build("有人填了招聘报名表，就让AI对照岗位要求给简历打分，超过80分的自动发面试邀请邮件")) == "form"
    assert trigger(build("给我一个接口，传一段中文进来，返回翻译好的英文和日文。")) == "webhook"


def test_the_approver_is_who_approves_not_the_words_before_them():
    g = build("ERP那边会通过webhook把退款申请推过来。金额超过1000元的，要先等财务审批，审批通过了再调用退款接口；1000元以下的记到飞书表格里。")
    assert nodes(g)["approval"].config.approval.approvers == ["财务"]
    g = build("员工提交采购申请表单后，先存到飞书多维表格。如果金额超过5000元，需要等我审批，批准后再在钉钉上通知采购。")
    assert nodes(g)["approval"].config.approval.approvers == []


def test_pieces_of_writing_asked_for_in_parallel_are_written_side_by_side():
    # "in parallel, produce a blog post draft, 5 tweet ideas, and show notes": one AI step, and a fetch of
    # a service named "this podcast transcript"
    g = build("Take this podcast transcript and, in parallel, produce a blog post draft, 5 tweet ideas, and show notes "
              "with timestamps.")
    fan = [e.target for e in g.edges if e.source == "start"]
    assert len(fan) == 3 and all(kind(nodes(g)[x]) == "llm" for x in fan) and not _reads_of(g)
    # "同时改写成小红书笔记、微博文案和抖音短视频脚本三个版本": 抖音 was fetched (a script's style, not a source)
    g = build("把这篇公众号文章同时改写成小红书笔记、微博文案和抖音短视频脚本三个版本。")
    fan = [e.target for e in g.edges if e.source == "start"]
    assert len(fan) == 3 and all(kind(nodes(g)[x]) == "llm" for x in fan) and not _reads_of(g)
    # deliveries said the same way stay deliveries
    g = build("When a HubSpot deal moves to Closed Won, at the same time create an onboarding project in Asana, a "
              "customer channel in Slack and a client folder in Google Drive.")
    assert sorted(service(n) for n in _writes(g)) == ["asana", "google_drive", "slack"]


def _reads_of(graph) -> list:
    return [n for n in nodes(graph).values() if kind(n) == "api" and n.config.method == "GET"]


def test_entries_booked_in_a_finance_system_are_writes_there():
    # "就在金蝶里生成销售出库单" read 金蝶 and had an AI write the document; "在金蝶里记账" was no step at all
    g = build("支付系统回调我们的webhook时，如果订单状态是已付款，就在金蝶里生成销售出库单；否则给财务发邮件说明异常情况。")
    assert _cases(g) == {"status_eq": ["kingdee"], "else": ["email"]}
    assert not [n for n in nodes(g).values() if kind(n) == "llm"] and not _reads_of(g)
    g = build("员工在表单里提交报销单后：金额不超过2000的直接通过，在金蝶里记账；超过2000的要先给财务经理审批，批了再去金蝶记账。")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert [c.when for c in cond.config.cases] == ["inputs.submission.amount <= 2000"]
    assert sorted(service(n) for n in _writes(g)) == ["kingdee", "kingdee"] and "approval" in nodes(g)
    # a 记账表 is a table, not the act of booking
    g = build("银行流水通过webhook推过来，如果“交易类型”是“退款”，就发邮件给财务主管；不是的话写进记账表。")
    assert [n.id for n in _writes(g)] == ["send_email", "upsert_service"]


def test_only_if_then_and_a_case_said_before_its_action():
    # "只有买家是第一次下单，才给他发一条欢迎短信": the SMS went to every buyer
    g = build("有赞有新订单的时候，只有买家是第一次下单，才给他发一条欢迎短信，顺便附上一张优惠券。")
    assert _cases(g) == {"case_1": ["sms"], "else": []}
    # "再让AI判断是bug、建议还是表扬，bug就自动在Jira建单": the bug case was lost in the classification's clause
    g = build("用户反馈表单：提交后全部存到飞书多维表格；再让AI判断是bug、建议还是表扬，bug就自动在Jira建单，建议发到飞书产品群，表扬的不用额外处理。")
    assert _cases(g) == {"bug": ["jira"], "case_2": ["feishu"], "case_3": [], "else": []}
    # "…的时候，" leaves no "候" behind in the next step
    g = build("GitHub仓库有人点Star的时候，在Discord频道发一条感谢消息")
    assert all("候" not in str(n.config) for n in _writes(g))


def test_run_by_hand_is_the_trigger_and_x_among_services_is_x():
    # "When I hit run, grab …" was a classification with a case "i hit run"
    g = build("When I hit run, grab this month's traffic numbers from Google Analytics and our revenue from Stripe, have "
              "AI write a one-page investor update, then save it to Notion and email it to investors@acme.com at the same time.")
    assert trigger(g) == "manual" and not [n for n in nodes(g).values() if kind(n) == "condition"]
    assert sorted(service(n) for n in _reads_of(g)) == ["google_analytics", "stripe"]
    assert sorted(service(n) for n in _writes(g)) == ["email", "notion"]
    # "publish all three at the same time to LinkedIn, X and Mailchimp": X was not published to
    g = build("When a new post is published on our WordPress blog, generate a LinkedIn post, a tweet and a newsletter blurb "
              "from it, then publish all three at the same time to LinkedIn, X and Mailchimp.")
    assert sorted(service(n) for n in _writes(g)) == ["linkedin", "mailchimp", "twitter"]
    from pilot.generation.entities import find_integrations

    assert find_integrations("pick option x, y and z")[0] == [] and find_integrations("share it to x")[0] == []


def test_the_second_reviews_small_misreadings():
    # "Every Monday morning, go through all HubSpot deals …": "morning" was a category to classify into
    g = build("Every Monday morning, go through all HubSpot deals that haven't been touched in 14 days, and for each one "
              "have AI draft a follow-up email to the contact and save it as a Gmail draft. Then DM me on Slack with the "
              "list of deals.")
    assert g.nodes[0].config.trigger.cron == "0 8 * * 1" and not [n for n in nodes(g).values() if kind(n) == "condition"]
    loop = next(n for n in g.nodes if kind(n) == "loop")
    slack = next(n for n in g.nodes if service(n) == "slack")  # the list goes out once, after the loop
    assert any(e.source == loop.id and e.target == slack.id for e in g.edges)
    # "if the price is above $1M": 1
    g = build("New row in our Airtable \"Listings\" table -> write a listing description with AI from the property details, "
              "update the row with the description, and if the price is above $1M also post it to our #luxury Slack channel.")
    assert next(n for n in g.nodes if kind(n) == "condition").config.cases[0].when == "inputs.event.price > 1000000"
    # "If it returns anything other than 200": an AI judged the body
    g = build("Monitor our status endpoint https://api.example.com/health every 5 minutes. If it returns anything other "
              "than 200, page the on-call via PagerDuty and post in #incidents.")
    assert next(n for n in g.nodes if kind(n) == "condition").config.cases[0].when == "nodes.fetch_page.output.status != 200"
    assert not [n for n in nodes(g).values() if kind(n) == "llm"]
    # "… events for next week via telegram": "next" started a new step, and Telegram got two messages
    g = build("every friday 5pm send me a recap of my google calendar events for next week via telegram")
    assert [service(n) for n in _writes(g)] == ["telegram"]
    # "send the summaries to Microsoft Teams": a second summary; "label it (bug, question, enhancement)": one category
    g = build("Every hour, check our RSS feed of competitor blogs, summarize only the new posts that mention pricing, "
              "and send the summaries to Microsoft Teams.")
    assert len([n for n in nodes(g).values() if kind(n) == "llm"]) == 1
    g = build("When a new GitHub issue is opened, have an AI label it (bug, question, enhancement) and apply the label on "
              "GitHub; if it's a bug, also post it to #eng-triage on Slack.")
    assert nodes(g)["classify"].config.output_schema["properties"]["category"]["enum"] == ["bug", "question", "enhancement", "other"]
    # "tell me in Telegram if it dropped below $50": sent whatever the price
    g = build("Scrape the product page URL I give you, extract the price, and tell me in Telegram if it dropped below $50.")
    assert _cases(g) == {"value_lt_50": ["telegram"], "else": []}


def _mail_to(graph) -> list[str]:
    return [n.config.arguments["to"] for n in _writes(graph) if service(n) == "email"]


def test_emails_to_the_person_the_run_is_about_go_to_their_address():
    # every one of these went to a fixed run input ("email_to", "them_email") set once for all runs
    assert _mail_to(build("When someone submits the signup form, send them a welcome email.")) == ["{{ inputs.submission.email }}"]
    assert _mail_to(build("When a payment fails in Stripe, email the customer a friendly reminder to update their card.")) == [
        "{{ inputs.event.email }}"]
    assert _mail_to(build("Every friday pull overdue invoices from Xero and for each one email the customer a reminder")) == [
        "{{ item.email }}"]
    assert _mail_to(build("用户在 App 注册后后端会打 webhook 过来，先给他发一封欢迎邮件，然后等 24 小时，再发一封新手教程邮件。")) == [
        "{{ inputs.payload.email }}", "{{ inputs.payload.email }}"]
    g = build("When someone joins our waitlist through the signup form, send them a welcome email right away, then wait 3 "
              "days and send a second email asking if they have any questions.")
    assert _mail_to(g) == ["{{ inputs.submission.email }}", "{{ inputs.submission.email }}"]
    # …but not me, an address given, or someone the run looked up
    assert _mail_to(build("When a new order arrives in Shopify, email me a summary")) == ["{{ inputs.me_email }}"]
    assert _mail_to(build("When a lead comes in via webhook, email the sales team at sales@acme.com")) == ["sales@acme.com"]
    g = build("When a new email comes into support@ in Gmail, look up the sender's account manager in HubSpot and forward "
              "it to them with a 3-line AI summary at the top.")
    assert "event.email" not in str(_mail_to(g))


def test_someone_doing_something_on_our_site_or_in_an_app_starts_the_run():
    assert trigger(build("客服工单分类：用户在官网提交问题后，AI判断是退款、物流还是产品质量问题。退款的转给财务群（飞书），物流的去查快递100")) == "webhook"
    assert trigger(build("患者在小程序上预约挂号后，发短信确认预约时间")) == "webhook"
    assert trigger(build("学生在问卷星交作文后，AI按照中考评分标准打分并写评语，分数写回飞书多维表格")) == "app_event"
    # a form said as such stays a form, and a webhook said as such is the trigger
    assert trigger(build("客户在官网填完试用申请表单以后，自动把信息写进飞书多维表格")) == "form"
    g = build("用户在小程序下单后我们后端会调一个webhook，收到后给用户发短信通知下单成功，同时给仓库发一封邮件安排发货。")
    assert trigger(g) == "webhook" and sorted(service(n) for n in _writes(g)) == ["email", "sms"]


def test_rows_picked_by_a_threshold_are_filtered_before_the_loop():
    # "把逾期超过30天的客户挑出来，让AI给每个客户写…": a branch with an AI step "客户挑出来" in it, the loop over every row
    g = build("每月1号早上9点，从金蝶拉上个月的应收账款明细，把逾期超过30天的客户挑出来，让AI给每个客户写一封催款邮件草稿，统一存到腾讯文档里给我过目，先别发出去。")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "transform", "loop"]
    assert g.nodes[2].config.where == "{{ item['逾期天数'] > 30 }}" and g.nodes[3].config.items == "{{ nodes.filter.output }}"
    # numbered steps on one line: "… 3. 逾期超过30天的客户，逐个…" (the "3" had ended a sentence and the filter was lost)
    g = build("要一个流程：1. 每月1号早上10点触发 2. 从金蝶云星空拉上个月的应收账款 3. 逾期超过30天的客户，逐个生成催款邮件并发送 4. 最后把汇总发给财务经理（钉钉）")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "transform", "loop"]
    assert all(not str(n.config).rstrip("'\"}) ").endswith((" 2", " 3", " 4")) for n in nodes(g).values() if kind(n) == "llm")


def test_pieces_routed_to_several_places_and_levels_said_in_one_word():
    # "… Post the thread to X, the LinkedIn post to LinkedIn, and create a Mailchimp draft campaign with the blurb":
    # LinkedIn got nothing, a second AI wrote the blurb again, and a blog-post template pipeline was bolted on
    g = build("When I submit a blog post URL in the form, generate a tweet thread, a LinkedIn post and a newsletter blurb "
              "from it. Post the thread to X, the LinkedIn post to LinkedIn, and create a Mailchimp draft campaign with the blurb.")
    assert sorted(service(n) for n in _writes(g)) == ["linkedin", "mailchimp", "twitter"]
    assert len([n for n in nodes(g).values() if kind(n) == "llm"]) == 1
    # "让AI按意向程度分成高中低三档，高意向的直接分配给销售…，中的加到跟进列表，低的发营销短信": only 低 was a case
    g = build("每周一早上8点半从纷享销客里拉出上周新增的客户线索，让AI按意向程度分成高中低三档，高意向的直接分配给销售并发企业微信提醒，中的加到跟进列表，低的发营销短信")
    assert nodes(g)["classify"].config.output_schema["properties"]["category"]["enum"] == ["高", "中", "低", "other"]
    assert _cases(g)["case_1"] == ["wecom"] and _cases(g)["case_3"] == ["sms"]


def test_the_third_reviews_triggers_and_misreadings():
    # "Every 1st of the month at 9am, …" started by hand
    g = build("Every 1st of the month at 9am, export last month's transactions from Xero, categorize each one with AI, and "
              "if any transaction is flagged as unusual, email the CFO at cfo@acme.io. Otherwise just save the report to Google Drive.")
    assert g.nodes[0].config.trigger.cron == "0 9 1 * *"
    from pilot.generation.entities import find_schedule

    assert find_schedule("every month on the 3rd").cron == "0 9 3 * *"
    # "When a Stripe payment fails": the event was "new payment"
    g = build("When a Stripe payment fails, wait 2 days, then check whether the invoice is still unpaid.")
    assert g.nodes[0].config.trigger.event == "payment failed"
    # "Also notify the account manager on Slack": a classification with the category "also" gated it
    g = build("Whenever a shipment status changes in ShipStation to \"delayed\", look up the customer in HubSpot and email "
              "them an apology with the new ETA. Also notify the account manager on Slack.")
    assert not [n for n in nodes(g).values() if kind(n) in ("condition", "llm")]
    # "Telegram bot: users send a photo of a receipt, …": the title was a category
    g = build("Telegram bot: users send a photo of a receipt, extract the merchant, date and total with AI, and append it "
              "as a row in my Google Sheet \"Expenses\".")
    assert [kind(n) for n in g.nodes[1:-1]] == ["llm", "api"] and service(g.nodes[2]) == "google_sheets"
    # "HR在飞书表单填完信息后", "学生提交作业（上传文件）后": started by hand; "写回教务系统" wrote nothing
    assert trigger(build("新员工入职，HR在飞书表单填完信息后，自动给他发一封欢迎邮件")) == "form"
    g = build("学生提交作业（上传文件）后，AI自动批改打分，分数低于60分的给班主任发钉钉消息，60分及以上的直接把成绩写回教务系统")
    assert trigger(g) == "form" and _cases(g) == {"score_lt_60": ["dingtalk"], "else": ["教务系统"]}  # the team's own 教务系统 (an api node, named so)


def test_do_all_three_in_parallel_and_the_store_we_run():
    # "… and send their manager a checklist email. Do all three in parallel.": one after another
    g = build("Onboarding: when a new hire is added in BambooHR, create their Google Workspace account, invite them to "
              "Slack, and send their manager a checklist email. Do all three in parallel.")
    fan = [e.target for e in g.edges if e.source == "start"]
    assert sorted(service(nodes(g)[x]) for x in fan) == ["email", "google_workspace", "slack"]
    # "We run a Shopify store. When an order is placed …": a Shopify write for "we run a shopify store", an event of "app"
    g = build("We run a Shopify store. When an order is placed with a total over $500, send it to #vip-orders on Slack and "
              "also tag the customer as VIP in Shopify. Orders under $500 just get a thank-you email through Klaviyo.")
    assert g.nodes[0].config.trigger.service == "shopify"
    assert sorted(service(n) for n in _writes(g)) == ["klaviyo", "shopify", "slack"]


def test_a_low_star_event_threshold_holds_the_steps_after_it():
    # "抖店有差评（3星及以下）的时候，让AI生成…，然后推送到钉钉售后群让人审核，审核通过了再自动回复到抖店": the 钉钉 message went
    # out for every review and a second AI wrote another reply
    g = build("抖店有差评（3星及以下）的时候，让AI生成一条安抚回复，然后推送到钉钉售后群让人审核，审核通过了再自动回复到抖店")
    cond = next(n for n in g.nodes if kind(n) == "condition")
    assert cond.config.cases[0].when == "inputs.event.rating <= 3"
    assert "dingtalk" in _cases(g)["rating_le_3"] and len([n for n in nodes(g).values() if kind(n) == "llm"]) == 1


def test_an_approvals_rejected_side_said_as_its_own_clause():
    # "…; if approved, log it in QuickBooks, if rejected, email the employee the reason": the email went out
    # after every approval too
    g = build("Expense approval flow: employee submits a form with amount, category and receipt. If amount is under "
              "$200, auto-approve and log it in QuickBooks. If $200 or more, send it to their manager on Slack for "
              "approval; if approved, log it in QuickBooks, if rejected, email the employee the reason.")
    decided = nodes(g)["if_approved"]
    out = {e.source_handle: e.target for e in g.edges if e.source == decided.id}
    approved = out[decided.config.cases[0].id]
    assert service(nodes(g)[out["else"]]) == "email" and service(nodes(g)[approved]) == "quickbooks"
    reached, todo = set(), [approved]
    while todo:
        at = todo.pop()
        reached.add(at)
        todo += [e.target for e in g.edges if e.source == at and e.target not in reached]
    assert out["else"] not in reached  # the rejection email is not sent after an approval


def test_no_activity_for_n_days_names_the_time_since():
    # "If a PR has had no activity for more than 3 days": compared a field "activity" with 3
    g = build("Every day at 6pm go through each open PR in our GitHub repo acme/web. If a PR has had no activity for more "
              "than 3 days, DM the author on Slack to remind them. Otherwise do nothing.")
    cond = next(n for n in nodes(g).values() if kind(n) == "condition")
    assert cond.config.cases[0].when == "item.days_since_activity > 3"


def test_an_alert_that_fires_and_a_message_to_our_official_account():
    # "When a P1 alert fires, page the on-call …": started by hand
    g = build("Monitor our Datadog alerts. When a P1 alert fires, page the on-call via PagerDuty and post in #incidents "
              "on Slack at the same time. For P2/P3 just create a Linear ticket.")
    assert g.nodes[0].config.trigger.service == "datadog"
    # "公众号后台收到用户留言": started by hand ("后台" had ended the trigger's clause at 后)
    g = build("公众号后台收到用户留言，用AI判断是咨询、投诉还是合作：1. 咨询的，自动用知识库回答 2. 投诉的，转给客服组钉钉群 3. 合作的，记录到飞书多维表格“商务合作”里")
    t = g.nodes[0].config.trigger
    assert (t.service, t.event) == ("wechat_official_account", "new message")
    # "…聊天助手：能查有赞后台的库存…": "有赞后" read as "there is 赞, then" made it an app event
    assert trigger(build("给门店店长用的聊天助手：能查有赞后台的库存和今天的销售额，也能查天气预报，帮他们判断明天要不要多备货")) == "chat"
