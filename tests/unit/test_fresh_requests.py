"""Fresh requests from the ninth stop's reviews and dev11: the workflow does what was asked."""

from __future__ import annotations

from tests.unit.test_offline_planner import _writes, build, kind


def test_emailing_me_the_digest_sends_the_summary_already_written():
    # "summarize them and email me the digest" summarised twice: "email me the digest" wrote another one
    g = build("Every morning at 8, fetch the top stories from Hacker News, summarize them and email me the digest")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "llm", "tool"] and len([n for n in g.nodes if kind(n) == "llm"]) == 1
    g = build("Every morning at 8, fetch the top stories from Hacker News and email me the digest")
    assert [kind(n) for n in g.nodes[1:4]] == ["api", "llm", "tool"] and len(_writes(g)) == 1
