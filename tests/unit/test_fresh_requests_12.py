"""Fresh requests read as a user would (twelfth session): a messenger's group named after a
project ("飞书项目群") is that messenger, and a Chinese event value in digits or letters
("严重程度为1的bug") filters the event like an English one."""

from __future__ import annotations

import pytest

from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import AiStep, BranchStep, DeliverStep, SourceStep, walk


@pytest.mark.parametrize(("prompt", "delivers", "reads"), [
    ("每天下午5点汇总GitLab今天合并的MR，发到飞书项目群", ["feishu"], ["gitlab"]),
    ("每周五把飞书项目的进度发到钉钉群", ["dingtalk"], ["feishu_project"]),  # the product, read
    ("每天早上9点把Jira里昨天新建的bug发到钉钉项目群", ["dingtalk"], ["jira"]),
])
def test_a_messengers_project_group_is_the_messenger(prompt: str, delivers: list[str], reads: list[str]) -> None:
    plan = plan_offline(prompt)
    steps = list(walk(plan.steps))
    assert [s.service for s in steps if isinstance(s, DeliverStep)] == delivers
    assert [s.service for s in steps if isinstance(s, SourceStep)] == reads


@pytest.mark.parametrize(("prompt", "field", "value", "services"), [
    ("禅道里新建了严重程度为1的bug时，马上发钉钉通知开发负责人。", "payload.severity", 1, ["dingtalk"]),
    ("Jira里新建了优先级为P1的工单时，发飞书通知我", "payload.priority", "P1", ["feishu"]),
])
def test_a_chinese_event_value_in_digits_or_letters_filters_the_event(prompt: str, field: str, value: object,
                                                                      services: list[str]) -> None:
    plan = plan_offline(prompt)
    assert len(plan.steps) == 1 and isinstance(plan.steps[0], BranchStep), plan.steps
    branch = plan.steps[0]
    when = branch.cases[0].when
    assert when is not None and (when.field, when.op, when.value) == (field, "eq", value)
    assert [d.service for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)] == services
    assert branch.otherwise is None
    assert not any(isinstance(s, AiStep) for s in walk(plan.steps))  # no AI step guesses a category


@pytest.mark.parametrize(("prompt", "service", "event"), [
    ("禅道里新建了严重程度为1的bug时，马上发钉钉通知开发负责人。", "zentao", "new bug"),
    ("When a new deal is created in HubSpot, post it to #sales on Slack", "hubspot", "new deal"),
    ("GitLab上有新的MR时，让AI做代码审查并把意见发到飞书群", "gitlab", "new merge request"),
    ("When someone posts in our #feedback Slack channel, classify it as bug or feature request", "slack", "new message"),
    ("When a customer cancels their Stripe subscription, email them a win-back offer", "stripe", "cancellation"),
    ("钉钉审批单通过时，把审批内容写进飞书多维表格", "dingtalk", "approval approved"),
    ("微信公众号有新用户关注时，把他的信息存到多维表格里。", "wechat_official_account", "new follower"),
])
def test_an_apps_event_is_named_after_what_happens(prompt: str, service: str, event: str) -> None:
    # "new event" told the user nothing about what starts the workflow
    trigger = plan_offline(prompt).trigger
    assert (trigger.service, trigger.event) == (service, event)


def _phone_bodies(prompt: str) -> list[str]:
    from pilot.generation.offline_result import generate_offline
    from pilot.templates.catalog import catalog_for
    from pilot.workflows.model import ApiNode
    from pilot.workflows.validation import iter_all_nodes

    graph = generate_offline(catalog_for(None), prompt, None).graph
    return [n.config.body for n in iter_all_nodes(graph)
            if isinstance(n, ApiNode) and n.config.service in ("sms", "phone_call", "whatsapp", "aliyun_sms")]


@pytest.mark.parametrize(("prompt", "to"), [
    ("When a new order comes in on Shopify, text the customer a thank-you message via Twilio", "inputs.event.phone"),
    ("每天早上8点从MySQL查出今天过生日的会员，逐个给他们发短信祝福", "item.phone"),
    ("有赞店铺来了新订单就让AI根据买的商品写一句感谢语，短信发给买家", "inputs.event.phone"),
])
def test_a_text_to_the_person_the_run_is_about_goes_to_their_number(prompt: str, to: str) -> None:
    # before, the SMS named no number at all: every run texted nobody in particular
    bodies = _phone_bodies(prompt)
    assert len(bodies) == 1 and f'"to": {{{{ {to} | tojson }}}}' in bodies[0], bodies


def test_a_text_to_someone_else_names_no_persons_number() -> None:
    assert all('"to"' not in b for b in _phone_bodies("When a P1 alert fires in Datadog, call the on-call engineer"))


def test_the_number_is_read_from_the_event_and_a_missing_one_is_named() -> None:
    import json

    from pilot.core.templating import TemplateError, render

    (body,) = _phone_bodies("When a new order comes in on Shopify, text the customer a thank-you message via Twilio")
    written = {"write": {"output": "Thank you for your order!"}}  # the AI step that writes the thank-you
    sent = json.loads(render(body, {"inputs": {"event": {"id": 7, "phone": "+15550100"}}, "nodes": written}))
    assert sent["to"] == "+15550100" and sent["text"] == "Thank you for your order!"
    with pytest.raises(TemplateError, match="'phone' is not in the data"):  # was "Encoding objects of type ChainableUndefined…"
        render(body, {"inputs": {"event": {"id": 7}}, "nodes": written})


@pytest.mark.parametrize(("prompt", "service"), [
    ("When a customer messages us on WhatsApp, have AI answer from our FAQ", "whatsapp"),
    ("When someone DMs us on Telegram, have AI answer them", "telegram"),
])
def test_a_message_to_us_in_a_named_messenger_is_its_event_and_is_answered_there(prompt: str, service: str) -> None:
    # before: a chat (or manual) trigger and an AI "classify" of "when a customer messages us"
    plan = plan_offline(prompt)
    assert (plan.trigger.__struct_config__.tag, plan.trigger.service, plan.trigger.event) == ("app_event", service, "new message")
    steps = list(walk(plan.steps))
    assert not any(isinstance(s, BranchStep) for s in steps)
    assert [s.task for s in steps if isinstance(s, AiStep)] == ["answer"]
    assert [s.service for s in steps if isinstance(s, DeliverStep)] == [service]  # the answer goes back where it was asked


def test_someone_messaging_us_with_no_messenger_named_is_the_chat_not_a_condition() -> None:
    plan = plan_offline("When a customer messages us, have AI answer from our docs")
    assert plan.trigger.__struct_config__.tag == "chat"
    steps = list(walk(plan.steps))
    assert not any(isinstance(s, BranchStep) for s in steps) and [s.task for s in steps if isinstance(s, AiStep)] == ["answer"]


@pytest.mark.parametrize(("prompt", "service", "hand_off"), [
    ("When a customer messages us on WhatsApp, have AI answer from our FAQ; if it can't answer, create a ticket in Zendesk "
     "for a human agent", "whatsapp", "zendesk"),
    ("When someone DMs us on Telegram, have AI answer from our docs. If the AI can't answer the question, notify our support "
     "lead on Slack", "telegram", "slack"),
])
def test_what_the_ai_cannot_answer_is_handed_off_and_the_rest_answered(prompt: str, service: str, hand_off: str) -> None:
    # before: "if it can't answer" read "answer" as a second answer step, and no reply went back
    plan = plan_offline(prompt)
    steps = list(walk(plan.steps))
    assert [s.task for s in steps if isinstance(s, AiStep) and s.task == "answer"] == ["answer"]
    (branch,) = [s for s in steps if isinstance(s, BranchStep)]
    assert [d.service for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)] == [hand_off]
    assert branch.otherwise is not None and [(d.service, d.content) for d in branch.otherwise] == [(service, "answer")]


def test_a_chinese_hand_off_to_a_human_when_the_ai_cannot_answer() -> None:
    # "回答不了就转人工": before, the whole clause was dropped and the knowledge-base recipe replaced the plan
    plan = plan_offline("客户在企业微信发消息时，让AI根据知识库回答，如果AI回答不了就转人工")
    steps = list(walk(plan.steps))
    (branch,) = [s for s in steps if isinstance(s, BranchStep)]
    (handed,) = [d for d in walk(branch.cases[0].steps) if isinstance(d, DeliverStep)]
    assert (handed.service, handed.target) == ("wecom", "人工客服")
    assert branch.otherwise is not None and [(d.service, d.content) for d in branch.otherwise] == [("wecom", "answer")]
