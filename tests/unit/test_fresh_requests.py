"""Fresh requests from the ninth stop's reviews and dev11: the workflow does what was asked."""

from __future__ import annotations

from tests.unit.test_offline_planner import _writes, build, kind


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
