"""Fresh requests read as a user would (thirteenth session): a message named by its kind ("send
the customer a thank-you email", "给客户发一封感谢邮件") is written before it is sent, instead of
mailing the raw event under "πlot: workflow result"; "email it to the customer" is addressed to
the customer, not to "it"; "someone subscribes" and "a Typeform is submitted" name their event."""

from __future__ import annotations

import pytest

from pilot.generation.offline_result import generate_offline
from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import AiStep, BranchStep, DeliverStep, walk
from pilot.templates.catalog import catalog_for
from pilot.workflows.model import AppEventTrigger, LlmNode, ToolNode, node_type


def _graph(prompt: str):
    return generate_offline(catalog_for(None), prompt, None).graph


@pytest.mark.parametrize(("prompt", "subject"), [
    ("When a new order comes in on Shopify, send the customer a thank-you email", "Thank you"),
    ("When someone subscribes on Mailchimp, send them a welcome email", "Welcome"),
    ("When a Typeform is submitted, email the person a confirmation", "Confirmation"),
    ("当有新的Shopify订单时，给客户发一封感谢邮件", "感谢"),
])
def test_a_message_named_by_its_kind_is_written_and_then_sent(prompt: str, subject: str) -> None:
    graph = _graph(prompt)
    writers = [n for n in graph.nodes if isinstance(n, LlmNode)]
    emails = [n for n in graph.nodes if isinstance(n, ToolNode) and n.config.tool == "email"]
    assert len(writers) == 1 and len(emails) == 1
    body = emails[0].config.arguments["body"]
    assert body == f"{{{{ nodes.{writers[0].id}.output }}}}"  # the written message, not the raw event
    assert emails[0].config.arguments["subject"] == subject
    assert (writers[0].id, emails[0].id) in {(e.source, e.target) for e in graph.edges}
    assert "inputs.event" in writers[0].config.prompt  # written from what the trigger received


@pytest.mark.parametrize("prompt", [
    "每天早上八点半在企业微信提醒下我打卡 就发一句话就行 不用ai",  # AI refused
    "Every morning at 9 summarise new Zendesk tickets and email the summary to me",  # the summary is the message
    "When a new order comes in on Shopify, post it to #orders on Slack",  # no kind of message named
    "When a new order comes in on Shopify, email the confirmation number to the warehouse",  # a value, not a message
])
def test_no_writer_where_something_else_is_sent(prompt: str) -> None:
    plan = plan_offline(prompt)
    assert not any(isinstance(s, AiStep) and s.id.startswith("write") for s in walk(plan.steps)), plan.steps


def test_each_branch_writes_its_own_message() -> None:
    # a category is not a message: the positive branch still writes its thank-you
    plan = plan_offline("When a new review comes in on Trustpilot, classify it as positive or negative. "
                        "If positive, send the reviewer a thank-you email; if negative, alert #support on Slack")
    branch = next(s for s in walk(plan.steps) if isinstance(s, BranchStep))
    positive = branch.cases[0].steps
    assert [type(s) for s in positive] == [AiStep, DeliverStep]
    assert positive[1].content == positive[0].id and positive[0].task == "generate"
    others = [s for c in branch.cases[1:] for s in c.steps] + list(branch.otherwise or [])
    assert not any(isinstance(s, AiStep) for s in others)


def test_email_it_to_someone_is_addressed_to_them() -> None:
    plan = plan_offline("When a new order comes in on Shopify, write a personalised thank-you note and email it to the customer")
    delivery = next(s for s in walk(plan.steps) if isinstance(s, DeliverStep))
    assert delivery.target == "customer"


@pytest.mark.parametrize(("prompt", "service", "event"), [
    ("When someone subscribes on Mailchimp, send them a welcome email", "mailchimp", "new subscriber"),
    ("When a Typeform is submitted, email the person a confirmation", "typeform", "new response"),
])
def test_an_apps_event_is_named_after_what_happens(prompt: str, service: str, event: str) -> None:
    trigger = plan_offline(prompt).trigger
    assert (trigger.service, trigger.event) == (service, event)


@pytest.mark.parametrize(("prompt", "service", "event", "offset"), [
    ("Send a reminder SMS to the patient 1 hour before their appointment in Google Calendar",
     "google_calendar", "new appointment", -3600),
    ("When someone books a call on Calendly, email them a reminder 1 day before the call", "calendly", "new booking", -86400),
    ("飞书日历里的会议开始前15分钟提醒我", "feishu_calendar", "new event", -900),
])
def test_a_wait_before_an_appointment_ends_before_its_start(prompt: str, service: str, event: str, offset: int) -> None:
    graph = _graph(prompt)
    trigger = graph.nodes[0].config.trigger
    assert isinstance(trigger, AppEventTrigger) and (trigger.service, trigger.event) == (service, event)
    wait = next(n for n in graph.nodes if node_type(n) == "wait")
    # the entry's own start time, moved back: not a time someone types in
    assert (wait.config.until, wait.config.offset_s) == ("{{ inputs.event.start_time }}", offset)
    assert "wait_until" not in {f.name for f in graph.nodes[0].config.fields}
    # the calendar is where the appointment lives: nothing is created in it or read from it again
    assert not [n for n in graph.nodes if node_type(n) in ("api", "tool") and service in str(n.config)]


def test_a_wait_before_something_no_app_holds_asks_for_its_time() -> None:
    graph = _graph("DM me on Slack 30 minutes before the meeting starts")
    wait = next(n for n in graph.nodes if node_type(n) == "wait")
    assert (wait.config.until, wait.config.offset_s) == ("{{ inputs.wait_until }}", -1800)
    field = next(f for f in graph.nodes[0].config.fields if f.name == "wait_until")
    assert "meeting" in field.description


@pytest.mark.parametrize(("prompt", "sent"), [
    ('every friday 4pm post a reminder in #general on slack: "Please submit your timesheets before you log off!"',
     "Please submit your timesheets before you log off!"),  # was "The workflow finished"
    ('When a new row is added to the Leads sheet, send a Telegram message saying "New lead just came in!"',
     "New lead just came in!"),
])
def test_a_quoted_message_is_sent_as_the_request_spells_it(prompt: str, sent: str) -> None:
    import json

    from pilot.core.templating import render

    graph = _graph(prompt)
    assert not [n for n in graph.nodes if isinstance(n, LlmNode)]  # nothing to write
    (delivery,) = [n for n in graph.nodes if node_type(n) in ("tool", "api")]
    if isinstance(delivery, ToolNode):
        assert delivery.config.arguments["text"] == sent
    else:
        assert json.loads(render(delivery.config.body, {"inputs": {"event": {}}}))["text"] == sent


def test_a_quoted_message_with_template_delimiters_stays_text() -> None:
    from pilot.core.templating import render
    from pilot.generation.services import text_of

    # sent as a jinja string literal: "{{ secrets }}" in the quote is never evaluated
    template = text_of(['"Hi {{ credentials.token }}"'])
    assert template != "Hi {{ credentials.token }}"
    assert render(template, {"credentials": {"token": "s3cret"}}) == "Hi {{ credentials.token }}"
