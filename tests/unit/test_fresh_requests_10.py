"""Fresh requests from the tenth stop's review and dev12: the workflow does what was asked."""

from __future__ import annotations

from tests.unit.test_offline_planner import _writes, build, kind, nodes, service


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
