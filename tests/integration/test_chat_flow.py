"""Chat follow-ups that change how a workflow flows, over a real socket (SQLite and PostgreSQL):
a conditional branch ("if the score is above 7, also send it to Slack" / "如果金额大于1000就发给主管"),
a parallel source ("also pull data from HubSpot at the same time" / "同时从HubSpot拉数据") and
batches ("do it in batches of 50" / "每50条一批").

Each conversation starts from a workflow compiled from an explicit plan (so the follow-up is
tested against a known graph, whatever the planner's wording rules do next) and asserts the
minimal edit: exactly which nodes were added / removed / changed, the new wiring, and the order
of the streamed events.
"""

from __future__ import annotations

import pytest

from pilot.generation.compiler import compile_plan
from pilot.generation.plan import AiStep, DeliverStep, SourceStep, WorkflowPlan
from pilot.workflows.model import AppEventTrigger, ManualTrigger, ScheduleTrigger
from tests.support.chat import ChatClient, Reply, assert_edit, nodes_of, pairs, session_on, turn


@pytest.fixture
async def chat(live_server):
    client = ChatClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


def handled(workflow: dict) -> set[tuple[str, str, str | None]]:
    return {(e["source"], e["target"], e.get("source_handle")) for e in workflow["edges"]}


def assert_edges_follow_nodes(reply: Reply) -> None:
    """Every streamed edge_added comes after the node_added of a new end (no dangling edge)."""
    added: set[str] = set()
    for _, name, data in reply.events:
        if name == "workflow.node_added":
            added.add(data["node"]["id"])
        elif name == "workflow.edge_added":
            new_ends = {data["edge"]["source"], data["edge"]["target"]} & {n["node"]["id"] for n in reply.of("workflow.node_added")}
            assert new_ends <= added, data


def scored_leads(lang: str = "en"):
    return compile_plan(WorkflowPlan(title="Score leads", language=lang, trigger=ManualTrigger(), steps=[
        AiStep(id="score", task="score", instruction="Score the lead from 0 to 10")]))


def orders_to_dingtalk():
    return compile_plan(WorkflowPlan(title="新订单摘要", language="zh", trigger=AppEventTrigger(service="shopify", event="new order"), steps=[
        AiStep(id="summarize", task="summarize", instruction="总结订单内容"), DeliverStep(id="notify", service="dingtalk")]))


def digest(lang: str, source: str, channel: str):
    return compile_plan(WorkflowPlan(title="Digest", language=lang, trigger=ScheduleTrigger(cron="0 8 * * *"), steps=[
        SourceStep(id=f"fetch_{source}", service=source), AiStep(id="summarize", task="summarize", instruction="Summarise"),
        DeliverStep(id="post", service=channel)]))


async def test_branch_on_a_score(chat):
    session, v1 = await session_on(chat, scored_leads(), "Score leads")
    assert set(nodes_of(v1)) == {"start", "score", "result"}
    reply = await turn(chat, session["id"], "if the score is above 7, also send it to Slack")
    new = assert_edit(v1, reply.workflow, added={"check", "send_slack"})
    case = new["check"]["config"]["cases"]
    assert case == [{"id": "score_gt_7", "when": "nodes.score.output.score > 7"}]  # a real comparison on the score
    assert new["check"]["title"] == "Check: score > 7"
    assert new["send_slack"]["config"]["tool"] == "slack" and "nodes.score.output" in new["send_slack"]["config"]["arguments"]["text"]
    assert handled(reply.workflow) == {("start", "score", None), ("score", "check", None), ("check", "send_slack", "score_gt_7"),
                                       ("send_slack", "result", None), ("check", "result", "else")}
    assert [n for n in reply.names if n.startswith("workflow.")] == [
        "workflow.edge_removed", "workflow.node_added", "workflow.edge_added", "workflow.edge_added",
        "workflow.node_added", "workflow.edge_added", "workflow.edge_added", "workflow.ready"]
    assert reply.of("workflow.edge_removed")[0]["source"] == "score"
    assert_edges_follow_nodes(reply)
    assert "score > 7" in reply.text

    # without "also", a condition is put in front of the existing delivery instead of a second one
    gated = await turn(chat, session["id"], "only send it to slack if the score is at least 9")
    new = assert_edit(reply.workflow, gated.workflow, added={"check_2"})
    assert new["check_2"]["config"]["cases"][0]["when"] == "nodes.score.output.score >= 9"
    assert {("check", "check_2", "score_gt_7"), ("check_2", "send_slack", "score_ge_9"), ("check_2", "result", "else")} <= handled(gated.workflow)


async def test_branch_on_an_amount_in_chinese(chat):
    session, v1 = await session_on(chat, orders_to_dingtalk(), "新订单摘要")
    assert set(nodes_of(v1)) == {"start", "summarize", "send_dingtalk", "result"}
    reply = await turn(chat, session["id"], "如果金额大于1000就发给主管")
    new = assert_edit(v1, reply.workflow, added={"check", "send_email"}, changed={"start"})
    assert new["check"]["config"]["cases"] == [{"id": "amount_gt_1000", "when": "inputs.event.amount > 1000"}]
    assert new["check"]["title"] == "判断：金额大于1000"
    assert new["send_email"]["config"]["tool"] == "email" and new["send_email"]["config"]["arguments"]["to"] == "{{ inputs.email_to }}"
    assert any(f["name"] == "email_to" and "主管" in f["description"] for f in new["start"]["config"]["fields"])
    assert handled(reply.workflow) >= {("send_dingtalk", "check", None), ("check", "send_email", "amount_gt_1000"),
                                       ("send_email", "result", None), ("check", "result", "else")}
    assert ("send_dingtalk", "result") not in pairs(reply.workflow)
    assert_edges_follow_nodes(reply)
    assert "判断" in reply.text and "已保存" in reply.text


@pytest.mark.parametrize("lang,source,channel,text", [
    ("en", "hacker_news", "slack", "also pull data from HubSpot at the same time"),
    ("zh", "kr36", "feishu", "同时从HubSpot拉数据"),
])
async def test_a_parallel_source(chat, lang, source, channel, text):
    session, v1 = await session_on(chat, digest(lang, source, channel), "Digest")
    fetch = f"fetch_{source}"
    assert set(nodes_of(v1)) == {"start", fetch, "summarize", f"send_{channel}", "result"}
    reply = await turn(chat, session["id"], text)
    new = assert_edit(v1, reply.workflow, added={"fetch_hubspot"}, changed={"summarize"})
    assert new["fetch_hubspot"]["type"] == "api" and new["fetch_hubspot"]["config"]["service"] == "hubspot"
    assert new["fetch_hubspot"]["config"]["method"] == "GET"
    # side by side with the existing source: same predecessor, neither feeds the other, both feed the summary
    assert {("start", "fetch_hubspot"), ("fetch_hubspot", "summarize"), ("start", fetch), (fetch, "summarize")} <= pairs(reply.workflow)
    prompt = new["summarize"]["config"]["prompt"]
    assert "{{ nodes.fetch_hubspot.output.body }}" in prompt and f"{{{{ nodes.{fetch}.output.body }}}}" in prompt
    assert [n for n in reply.names if n.startswith("workflow.")] == [
        "workflow.node_updated", "workflow.node_added", "workflow.edge_added", "workflow.edge_added", "workflow.ready"]
    assert reply.of("workflow.node_updated")[0]["changes"] == ["config.prompt"]
    assert "HubSpot" in reply.text


@pytest.mark.parametrize("lang,source,channel,text,again", [
    ("en", "hacker_news", "slack", "do it in batches of 50", "make it 20 at a time"),
    ("zh", "kr36", "feishu", "每50条一批", "改成每20条一批"),
])
async def test_batches(chat, lang, source, channel, text, again):
    session, v1 = await session_on(chat, digest(lang, source, channel), "Digest")
    fetch, send = f"fetch_{source}", f"send_{channel}"
    reply = await turn(chat, session["id"], text)
    # the summary moves into a loop over the fetched data, 50 at a time; the delivery stays after it
    new = assert_edit(v1, reply.workflow, added={"batches_of_50"}, removed={"summarize"}, changed={send, "result"})
    loop = new["batches_of_50"]["config"]
    assert loop["items"] == f"nodes.{fetch}.output.body | batch(50) | list"
    assert [n["id"] for n in loop["body"]["nodes"]] == ["summarize"]
    assert "{{ item }}" in loop["body"]["nodes"][0]["config"]["prompt"]
    assert "batches_of_50" in new[send]["config"]["arguments"]["text"]
    assert {(fetch, "batches_of_50"), ("batches_of_50", send), (send, "result")} <= pairs(reply.workflow)
    assert reply.of("workflow.node_removed") == [{"node_id": "summarize"}]
    assert [d["node"]["id"] for d in reply.of("workflow.node_added")] == ["batches_of_50"]
    assert "50" in reply.text

    resized = await turn(chat, session["id"], again)
    new = assert_edit(reply.workflow, resized.workflow, changed={"batches_of_50"})
    assert new["batches_of_50"]["config"]["items"] == f"nodes.{fetch}.output.body | batch(20) | list"
    assert resized.of("workflow.node_updated")[0]["changes"] == ["title", "config.items"]
