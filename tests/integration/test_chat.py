"""The chat over a real socket (uvicorn + httpx SSE), on SQLite and PostgreSQL.

Conversations assert the workflow after every turn: the right node added/removed/changed,
every other node untouched, the stored workflow valid and equal to ``workflow.ready``.
"""

from __future__ import annotations

import asyncio

import pytest

from pilot.chat.ops import AddEdge, AddNode
from pilot.generation.compiler import compile_ops
from pilot.generation.plan import plan_from_builtins
from tests.support.chat import ChatClient, Reply, assert_built_op_by_op, assert_edit, nodes_of, pairs, turn


@pytest.fixture
async def chat(live_server):
    client = ChatClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


def workflow_events(reply: Reply) -> list[str]:
    return [n for n in reply.names if n.startswith("workflow.")]


async def test_english_conversation(chat):
    session = await chat.session()
    r1 = await turn(chat, session["id"], "every morning summarise Hacker News and post it to Slack", outcome="created")
    assert r1.names[:3] == ["message.started", "analysis", "blueprint"]
    assert r1.of("analysis")[0]["intent"] == "scheduled_digest" and r1.of("analysis")[0]["candidates"]
    plan = r1.of("blueprint")[0]["blueprint"]["plan"]
    assert plan["trigger"] == {"kind": "schedule", "cron": "0 8 * * *", "timezone": "UTC"}
    # built from the plan, streamed op by op in the compiler's order: no template step was added
    assert assert_built_op_by_op(r1) == ["start", "fetch_hacker_news", "summarize", "send_slack", "result"]
    v1 = r1.workflow
    assert r1.of("workflow.settings_updated") == [{"settings": v1["settings"], "changes": ["schedule"]}]
    assert v1["nodes"][0]["config"]["trigger"]["cron"] == v1["settings"]["schedule"] == "0 8 * * *"
    assert nodes_of(v1)["send_slack"]["config"]["tool"] == "slack"
    assert r1.names.index("workflow.ready") < r1.names.index("message.delta")
    assert "template" not in r1.text and "Summarise" in r1.text

    r2 = await turn(chat, session["id"], "also email me the result")
    new = assert_edit(v1, r2.workflow, added={"send_email"}, changed={"start"})  # start: + notify_email input
    assert new["send_email"]["config"]["tool"] == "email"
    assert {("send_slack", "send_email"), ("send_email", "result")} <= pairs(r2.workflow)
    assert workflow_events(r2) == ["workflow.edge_removed", "workflow.node_updated", "workflow.node_added",
                                   "workflow.edge_added", "workflow.edge_added", "workflow.ready"]
    assert [d["node"]["id"] for d in r2.of("workflow.node_added")] == ["send_email"]
    assert r2.of("workflow.edge_removed")[0]["source"] == "send_slack"

    r3 = await turn(chat, session["id"], "use gpt-4o")
    new = assert_edit(r2.workflow, r3.workflow, changed={"summarize"})
    assert new["summarize"]["config"]["model"] == "gpt-4o"
    assert r3.of("workflow.node_updated") == [{"node_id": "summarize", "node": r3.workflow["nodes"][2], "changes": ["config.model"]}]

    r4 = await turn(chat, session["id"], "remove the Slack step")
    assert_edit(r3.workflow, r4.workflow, removed={"send_slack"})
    assert ("summarize", "send_email") in pairs(r4.workflow)
    assert r4.of("workflow.node_removed") == [{"node_id": "send_slack"}]

    r5 = await turn(chat, session["id"], "also translate it into Japanese")
    new = assert_edit(r4.workflow, r5.workflow, added={"translate_japanese"}, changed={"result"})
    assert "Japanese" in new["translate_japanese"]["config"]["prompt"]
    assert new["result"]["config"]["outputs"]["japanese_translation"] == "{{ nodes.translate_japanese.output }}"

    r6 = await turn(chat, session["id"], "every Monday at 9")
    new = assert_edit(r5.workflow, r6.workflow, changed={"start"})  # the schedule trigger follows the schedule
    assert r6.workflow["settings"]["schedule"] == new["start"]["config"]["trigger"]["cron"] == "0 9 * * 1"
    assert new["start"]["title"] == "Schedule 0 9 * * 1"
    assert r6.of("workflow.settings_updated")[0]["changes"] == ["schedule"]
    assert r6.workflow["version"] == 6

    history = await chat.get(session["id"])
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 6
    assert history["workflow"] == r6.workflow and history["can_undo"]
    versions = (await chat.http.get(f"/api/workflows/{v1['id']}/versions")).json()
    assert [v["version"] for v in versions["items"]] == [6, 5, 4, 3, 2, 1]  # every previous version kept


async def test_chinese_conversation(chat):
    session = await chat.session()
    r1 = await turn(chat, session["id"], "每天早上8点抓取36氪的新闻，总结后发到飞书", outcome="created")
    assert r1.of("analysis")[0]["language"] == "zh"
    assert assert_built_op_by_op(r1) == ["start", "fetch_kr36", "summarize", "send_feishu", "result"]
    v1 = r1.workflow
    assert nodes_of(v1)["fetch_kr36"]["config"]["url"] == "https://36kr.com/feed"
    assert nodes_of(v1)["send_feishu"]["config"]["tool"] == "feishu"
    assert "工作流" in r1.text and "模板" not in r1.text and "每天 08:00" in r1.text

    r2 = await turn(chat, session["id"], "同时发邮件给我")
    new = assert_edit(v1, r2.workflow, added={"send_email"}, changed={"start"})
    assert ("send_email", "result") in pairs(r2.workflow) and "邮件" in r2.text
    assert new["send_email"]["config"]["arguments"]["to"] == "{{ inputs.notify_email }}"

    r3 = await turn(chat, session["id"], "换成 gpt-4o")
    new = assert_edit(r2.workflow, r3.workflow, changed={"summarize"})
    assert new["summarize"]["config"]["model"] == "gpt-4o" and "gpt-4o" in r3.text

    r4 = await turn(chat, session["id"], "去掉飞书通知")
    assert_edit(r3.workflow, r4.workflow, removed={"send_feishu"})
    assert ("summarize", "send_email") in pairs(r4.workflow)
    assert "已删除" in r4.text

    r5 = await turn(chat, session["id"], "每周一早上9点运行")
    new = assert_edit(r4.workflow, r5.workflow, changed={"start"})
    assert r5.workflow["settings"]["schedule"] == new["start"]["config"]["trigger"]["cron"] == "0 9 * * 1"
    assert "每周一" in r5.text

    r6 = await turn(chat, session["id"], "撤销", outcome="undone")
    new = assert_edit(r5.workflow, r6.workflow, changed={"start"})
    assert r6.workflow["settings"]["schedule"] == new["start"]["config"]["trigger"]["cron"] == "0 8 * * *"
    assert r6.workflow["version"] == 6


async def test_a_new_workflow_streams_op_by_op_in_the_compilers_order(chat):
    """Creation compiles the request's plan into edit ops and streams them as they apply: a
    node_added per node, each edge_added after both its nodes, in the order of
    ``compile_ops(plan)``, then workflow.ready."""
    session = await chat.session()
    prompt = ("when a new lead arrives via webhook, score it. if the score is above 7 post it to slack, "
              "otherwise email the sales team")
    reply = await turn(chat, session["id"], prompt, outcome="created")
    plan = plan_from_builtins(reply.of("blueprint")[0]["blueprint"]["plan"])
    ops = compile_ops(plan)
    streamed = assert_built_op_by_op(reply)
    assert streamed == [op.node["id"] for op in ops if isinstance(op, AddNode)]
    edges = [(d["edge"]["source"], d["edge"]["target"], d["edge"].get("source_handle")) for d in reply.of("workflow.edge_added")]
    assert edges == [(op.source, op.target, op.source_handle) for op in ops if isinstance(op, AddEdge)]
    condition = next(n for n in reply.workflow["nodes"] if n["type"] == "condition")
    assert condition["config"]["cases"][0]["when"].endswith("> 7")
    handles = {d["edge"].get("source_handle") for d in reply.of("workflow.edge_added") if d["edge"]["source"] == condition["id"]}
    assert handles == {condition["config"]["cases"][0]["id"], "else"}
    assert not reply.of("workflow.settings_updated")  # no schedule asked for, none set
    # every event of the build comes between the blueprint and workflow.ready
    names = reply.names
    first = min(names.index("workflow.node_added"), names.index("workflow.edge_added"))
    assert names.index("blueprint") < first and max(i for i, n in enumerate(names) if n.startswith("workflow.")) == names.index("workflow.ready")


async def test_undo_endpoint(chat):
    session = await chat.session()
    created = await turn(chat, session["id"], "summarize long documents", outcome="created")
    assert (await chat.undo(session["id"])).status_code == 409  # creating is not an edit
    edited = await turn(chat, session["id"], "use gpt-4o")
    response = await chat.undo(session["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["restored_version"] == 1 and body["workflow"]["version"] == 3
    assert nodes_of(body["workflow"]) == nodes_of(created.workflow) != nodes_of(edited.workflow)
    assert (await chat.undo(session["id"])).status_code == 409
    assert not (await chat.get(session["id"]))["can_undo"]
    assert body["message"].startswith("Undid the last change")


async def test_undo_endpoint_answers_in_the_chats_language(chat):
    session = await chat.session()
    await turn(chat, session["id"], "帮我总结长文档", outcome="created")
    await turn(chat, session["id"], "换成 gpt-4o")
    response = await chat.undo(session["id"])
    assert response.status_code == 200, response.text
    assert response.json()["message"].startswith("已撤销上一次修改")


async def test_an_unappliable_edit_changes_nothing_and_says_so(chat):
    session = await chat.session()
    created = await turn(chat, session["id"], "summarize long documents", outcome="created")
    for text in ("remove the approval step", "blah blah blah"):
        reply = await turn(chat, session["id"], text, outcome="unchanged")
        assert not [n for n in reply.names if n.startswith("workflow.")]
        assert "unchanged" in reply.text
    stored = await chat.workflow(created.workflow["id"])
    assert stored["version"] == 1 and nodes_of(stored) == nodes_of(created.workflow)


async def test_clarifying_question_then_answer(chat):
    session = await chat.session()
    ask = await turn(chat, session["id"], "help me", outcome="clarify")
    (question,) = ask.of("clarification")
    assert len(question["options"]) >= 2 and ask.workflow is None
    pending = (await chat.get(session["id"]))["pending_question"]
    assert [o["id"] for o in pending["options"]] == [o["id"] for o in question["options"]]
    answer = await turn(chat, session["id"], "the second one", outcome="created")
    assert answer.workflow["template_id"] == question["options"][1]["id"]
    assert (await chat.get(session["id"]))["pending_question"] is None

    zh = await chat.session()
    ask = await turn(chat, zh["id"], "帮我弄一个", outcome="clarify")
    assert "哪" in ask.text
    answer = await turn(chat, zh["id"], "客服", outcome="created")
    assert answer.workflow["template_id"] == "customer_support"
    assert "模板" in answer.text and answer.workflow["name"] in answer.text  # built from (and named after) the template picked

    # an answer that describes the request instead of picking an option: built from the plan
    described = await chat.session()
    await turn(chat, described["id"], "help me", outcome="clarify")
    answer = await turn(chat, described["id"], "I need to translate my emails into German", outcome="created")
    translate = next(n for n in answer.workflow["nodes"] if n["type"] == "llm")
    assert "German" in translate["config"]["prompt"] and "template" not in answer.text
    assert_built_op_by_op(answer)

    # nothing readable to plan from: asked, not failed
    garbage = await chat.session()
    ask = await turn(chat, garbage["id"], "???", outcome="clarify")
    assert len(ask.of("clarification")[0]["options"]) == 3


async def test_concurrent_messages_are_serialised(chat):
    session = await chat.session()
    created = await turn(chat, session["id"], "translate documents to French", outcome="created")
    first, second = await asyncio.gather(chat.send(session["id"], "use gpt-4o"), chat.send(session["id"], "every Monday at 9"))
    assert {first.finished["workflow_version"], second.finished["workflow_version"]} == {2, 3}
    final = await chat.workflow(created.workflow["id"])
    assert final["version"] == 3 and final["settings"]["schedule"] == "0 9 * * 1"
    assert {n["config"].get("model") for n in final["nodes"] if n["type"] == "llm"} == {"gpt-4o"}


async def test_a_concurrent_edit_outside_the_chat_is_not_lost(chat, live_server, monkeypatch):
    """The workflow changes (PUT) while a turn is planning: the turn re-plans on the new head."""
    session = await chat.session()
    created = (await turn(chat, session["id"], "translate documents to French", outcome="created")).workflow
    service_cls = type(live_server.app.state.runtime.chat)
    original = service_cls._plan
    calls = 0

    async def plan_with_interference(self, text, graph, lang, *args):
        nonlocal calls
        calls += 1
        if calls == 1:  # someone renames a step (a draft keeps its version number)
            nodes = [{**n, "title": "Renamed by hand"} if n["id"] == "translate" else n for n in created["nodes"]]
            response = await chat.http.put(f"/api/workflows/{created['id']}", json={"nodes": nodes})
            assert response.status_code == 200, response.text
        return await original(self, text, graph, lang, *args)

    monkeypatch.setattr(service_cls, "_plan", plan_with_interference)
    reply = await turn(chat, session["id"], "use gpt-4o")
    assert calls == 2
    final = nodes_of(await chat.workflow(created["id"]))
    assert final["translate"]["title"] == "Renamed by hand" and final["translate"]["config"]["model"] == "gpt-4o"
    assert nodes_of(reply.workflow) == final


async def test_disconnect_mid_stream_still_persists_and_reconnect_replays(chat):
    session = await chat.session()
    partial = await chat.send(session["id"], "translate customer emails into English", limit=2)
    assert partial.names == ["message.started", "analysis"]
    message_id = partial.message_id
    for _ in range(200):  # the turn goes on without a listener
        history = await chat.get(session["id"])
        if history["messages"][-1]["status"] == "done":
            break
        await asyncio.sleep(0.05)
    reply_row = history["messages"][-1]
    assert reply_row["id"] == message_id and reply_row["outcome"] == "created"
    assert history["workflow"] is not None and history["workflow"]["template_id"] == "translation"
    rest = await chat.reconnect(session["id"], message_id, last_event_id=2)
    assert rest.events[0][0] == 3 and rest.names[-1] == "message.finished"
    full = await chat.reconnect(session["id"], message_id)
    assert [e[0] for e in full.events] == list(range(1, len(full.events) + 1))
    assert full.events[2:] == rest.events and full.names[:2] == partial.names


async def test_run_from_the_chat(chat):
    session = await chat.session()
    await turn(chat, session["id"], "translate documents to French", outcome="created")
    reply = await turn(chat, session["id"], "run it with text=Good morning", outcome="run")
    execution_id = reply.finished["execution_id"]
    assert execution_id.startswith("exe_") and reply.finished["stream_url"].endswith(f"/{execution_id}/stream")
    assert execution_id in reply.text
    for _ in range(300):  # let the run end here rather than inside the next test
        execution = (await chat.http.get(f"/api/executions/{execution_id}")).json()
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    assert execution["workflow_id"] == reply.finished["workflow_id"]
    assert execution["status"] == "succeeded" and execution["input_data"] == {"text": "Good morning"}
    failed = await turn(chat, session["id"], "run it", outcome="error")
    assert "error" in failed.names and "text" in failed.text


async def test_test_it_from_the_chat_is_a_dry_run(chat):
    session = await chat.session()
    await turn(chat, session["id"], "translate documents to French", outcome="created")
    reply = await turn(chat, session["id"], "test it", outcome="run")
    execution_id = reply.finished["execution_id"]
    assert "nothing is sent" in reply.text
    for _ in range(300):
        execution = (await chat.http.get(f"/api/executions/{execution_id}")).json()
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    assert execution["trigger"] == "test" and execution["status"] == "succeeded"
    assert execution["input_data"]["text"] == "sample text"  # the required input got a sample value
    zh = await turn(chat, session["id"], "测试一下", outcome="run")
    assert "不会真的发送" in zh.text


async def test_bad_input_and_tenancy(chat, live_server):
    session = await chat.session(title="mine")
    response = await chat.http.post(f"/api/chat/sessions/{session['id']}/messages", json={"content": "   "})
    assert response.status_code == 422 and "content" in response.json()["detail"]
    response = await chat.http.post(f"/api/chat/sessions/{session['id']}/messages", json={"text": "hi"})
    assert response.status_code == 400
    created = await turn(chat, session["id"], "summarize long documents", outcome="created")
    stranger = ChatClient(live_server.url, await live_server.new_key())
    try:
        assert (await stranger.http.get(f"/api/chat/sessions/{session['id']}")).status_code == 404
        response = await stranger.http.post(f"/api/chat/sessions/{session['id']}/messages", json={"content": "use gpt-4o"})
        assert response.status_code == 404
        assert (await stranger.http.post(f"/api/chat/sessions/{session['id']}/undo")).status_code == 404
        message_id = created.message_id
        assert (await stranger.http.get(f"/api/chat/sessions/{session['id']}/messages/{message_id}/stream")).status_code == 404
        response = await stranger.http.post("/api/chat/sessions", json={"workflow_id": created.workflow["id"]})
        assert response.status_code == 404
    finally:
        await stranger.aclose()
    attached = await chat.session(workflow_id=created.workflow["id"])
    assert attached["workflow"]["id"] == created.workflow["id"] and attached["title"] == created.workflow["name"]
    assert (await chat.http.get("/api/chat/sessions/chat_nope")).status_code == 404


async def test_a_new_request_mid_chat_replaces_the_workflow_as_a_new_version(chat):
    session = await chat.session()
    created = await turn(chat, session["id"], "translate documents to French", outcome="created")
    assert set(nodes_of(created.workflow)) == {"start", "translate", "review", "result"}  # the translation recipe
    reply = await turn(chat, session["id"], "actually, build me a customer support chatbot instead", outcome="replaced")
    assert reply.workflow["id"] == created.workflow["id"] and reply.workflow["version"] == 2
    assert reply.workflow["template_id"] == "customer_support"
    new = nodes_of(reply.workflow)
    assert new["start"]["config"]["trigger"]["kind"] == "chat" and "translate" not in new
    assert any(n["type"] == "llm" for n in new.values())
    # the old workflow leaves the panel, then the new one is built op by op
    assert {d["node_id"] for d in reply.of("workflow.node_removed")} == set(nodes_of(created.workflow))
    last_removed = max(i for i, n in enumerate(reply.names) if n in ("workflow.node_removed", "workflow.edge_removed"))
    assert last_removed < reply.names.index("workflow.node_added")
    assert_built_op_by_op(reply)
    undone = await turn(chat, session["id"], "undo", outcome="undone")
    assert nodes_of(undone.workflow) == nodes_of(created.workflow)


async def test_a_reply_interrupted_by_a_crash_is_closed_at_start_up(chat, live_server):
    """A reply left pending by a dead process: start-up ends its stream and says so."""
    from datetime import timedelta

    from pilot.chat.recovery import close_interrupted_replies
    from pilot.core.ids import utcnow
    from pilot.db.models import ChatMessageRow, StreamEventRow

    session = await chat.session()
    done = await turn(chat, session["id"], "summarize long documents", outcome="created")
    runtime = live_server.app.state.runtime
    crashed_id = "msg_crashed_" + session["id"][-8:]
    async with runtime.sessions() as db:  # what a crash mid-turn leaves behind
        db.add(ChatMessageRow(id=crashed_id, session_id=session["id"], role="assistant", content="",
                              metadata_={"status": "streaming"}, created_at=utcnow() - timedelta(hours=1)))
        db.add(StreamEventRow(stream_id=crashed_id, seq=1, event="message.started",
                              data={"message_id": crashed_id, "session_id": session["id"], "reply_to": "msg_x"}))
        await db.commit()
    closed = await close_interrupted_replies(runtime.sessions)
    assert closed >= 1
    reply = await chat.reconnect(session["id"], crashed_id)
    assert reply.names == ["message.started", "error", "message.finished"]
    assert reply.finished["outcome"] == "error"
    history = await chat.get(session["id"])
    crashed = next(m for m in history["messages"] if m["id"] == crashed_id)
    assert crashed["status"] == "error" and "interrupted" in crashed["content"]
    assert await close_interrupted_replies(runtime.sessions) == 0  # finished replies are left alone
    assert history["workflow"]["version"] == done.workflow["version"]
