"""The reference panel (/panel) in a real browser (Debian's Chromium, see conftest): the whole
flow in English and in Chinese — request → the workflow drawn as it streams in → readiness →
refine by chat → undo → run from the generated input form with live per-node state — and a
forced network drop mid-run that the page survives with every node update applied exactly once.

What the page shows is checked against what the server stored (the workflow, the run's events
and node results), read over the API.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support.panel import (
    added_order, edges, graph_of, nodes, record, run_attr, say, settled, sign_in, state_log, wait_run_over,
)
from tests.support.runs import RunClient, edge, node
from tests.support.scripted import scripted_tool, tool

pytestmark = pytest.mark.browser


@pytest.fixture
async def server_api(panel_server):
    client = RunClient(panel_server.url, panel_server.key)
    yield client
    await client.aclose()


async def saved_workflow(server_api: RunClient, page) -> dict:
    session_id = await page.evaluate("() => window.pilotPanel.chat.session.id")
    response = await server_api.http.get(f"/api/chat/sessions/{session_id}")
    return response.json()["workflow"]


async def assert_drawn_as_saved(page, workflow: dict) -> None:
    """Every node at the position the API gave, every edge with its branch handle."""
    await settled(page)
    positions, saved_edges = graph_of(workflow)
    drawn = await nodes(page)
    assert {nid: (n["x"], n["y"]) for nid, n in drawn.items()} == positions
    assert await edges(page) == saved_edges


async def assert_run_matches_server(page, server_api: RunClient) -> tuple[list, dict]:
    """The page applied every event of the run exactly once, in order, and shows each node's
    stored final state; returns the server's events and execution."""
    execution_id = await run_attr(page, "execution-id")
    events = await server_api.events(execution_id)
    execution = (await server_api.http.get(f"/api/executions/{execution_id}")).json()
    applied = [int(i) for i in (await run_attr(page, "event-ids")).split(",")]
    assert applied == [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    assert await run_attr(page, "duplicates") == "0"
    drawn = await nodes(page)
    stored = {r["node_id"]: r["status"] for r in execution["node_results"]}
    assert {nid: n["state"] for nid, n in drawn.items()} == stored
    assert {n["finals"] for n in drawn.values()} == {1}  # each node's final update shown once
    for nid, n in drawn.items():  # the streamed text is every delta, once, in order
        assert n["text"] == "".join(d["text"] for _, e, d in events if e == "node.delta" and d["node_id"] == nid)
    return events, execution


async def test_english_flow_from_another_origin(new_page, panel_server, server_api, artifacts):
    page = await new_page("en-US")
    # The page on one origin (localhost), the API on another (127.0.0.1): every call, streams
    # included, is a CORS request with the Authorization header (PILOT_CORS_ORIGINS allows it).
    await sign_in(page, f"{panel_server.other_origin}/panel?api={panel_server.url}", panel_server.key)
    assert await page.evaluate("() => sessionStorage.getItem('pilot.apiKey')") == panel_server.key
    assert await page.inner_text("#send") == "Send"
    await record(page)

    # 1. A request: the chat stream draws the workflow node by node, in the order it was built.
    await say(page, "Score this sales lead from 0 to 10")
    v1 = await saved_workflow(server_api, page)
    assert await added_order(page) == [n["id"] for n in v1["nodes"]] == ["start", "score", "tier", "draft_followup", "result"]
    await assert_drawn_as_saved(page, v1)
    assert (await nodes(page))["tier"]["handles"] == ["hot", "warm", "else"]  # labelled branch handles
    assert "'lead'" in await page.inner_text("#readiness li[data-kind=input]")
    assert await page.locator("#run-fields textarea[name=lead]").count() == 1  # an object field: JSON

    # 2. Refine by chat: the edit animates in place (the same node elements move; nothing redrawn).
    await page.evaluate("() => { document.querySelector('[data-node-id=result]').dataset.marker = 'kept'; }")
    await say(page, "if the score is above 7, also send it to Slack")
    v2 = await saved_workflow(server_api, page)
    assert (await added_order(page))[5:] == ["check", "send_slack"]
    await assert_drawn_as_saved(page, v2)
    assert await page.get_attribute("[data-node-id=result]", "data-marker") == "kept"
    assert (await nodes(page))["result"]["x"] == 1800 != v1["nodes"][-1]["position"]["x"]
    assert (await nodes(page))["check"]["handles"] == ["score_gt_7", "else"]
    assert "slack_webhook" in await page.inner_text("#readiness li[data-kind=credential]")

    # 3. Another edit, then undo it with the button.
    await say(page, "use gpt-4o")
    assert (await nodes(page))["score"]["kind"] == "llm · gpt-4o"
    await page.click("#undo")
    await page.locator("#board[data-version='4']").wait_for(state="attached")
    assert (await nodes(page))["score"]["kind"] == "llm · gpt-4o-mini"
    assert (await saved_workflow(server_api, page))["version"] == 4
    await assert_drawn_as_saved(page, v2)

    # 4. Run from the form built from the input node's fields; every node lights up.
    panel_server.llm_delay(0.02)
    await page.fill("#run-fields textarea[name=lead]", json.dumps({"name": "Ada", "company": "Acme", "message": "We need a demo"}))
    await page.click("#run-button")
    assert await wait_run_over(page) == "succeeded"
    events, execution = await assert_run_matches_server(page, server_api)
    log = await state_log(page)
    assert log["score"] == ["queued", "running", "streaming", "succeeded"]
    assert log["start"] == ["queued", "running", "succeeded"]
    assert log["draft_followup"] == log["send_slack"] == ["queued", "skipped"]  # untaken branches
    assert json.loads(await page.inner_text("#run-outputs")) == execution["outputs"]
    assert (await nodes(page))["send_slack"]["status"] == "skipped"
    await page.screenshot(path=artifacts / "english-run.png")
    print(f"screenshot: {artifacts / 'english-run.png'}")


async def test_chinese_flow(new_page, panel_server, server_api, artifacts):
    page = await new_page("zh-CN")
    await sign_in(page, f"{panel_server.url}/panel", panel_server.key)
    assert await page.inner_text("#send") == "发送"  # the page speaks the browser's language
    await record(page)

    await say(page, "从发票中提取金额和客户名称")
    v1 = await saved_workflow(server_api, page)
    assert await added_order(page) == ["start", "extract", "result"]
    await assert_drawn_as_saved(page, v1)
    assert "已按你的需求创建工作流" in await page.inner_text("#messages")
    assert "必填输入" in await page.inner_text("#readiness")

    await say(page, "如果金额大于1000就发给主管")
    v2 = await saved_workflow(server_api, page)
    assert set(await added_order(page)) == {"start", "extract", "result", "check", "send_email"}
    await assert_drawn_as_saved(page, v2)
    assert (await nodes(page))["check"]["handles"] == ["amount_gt_1000", "else"]
    assert await page.locator("#run-fields input[name=amount][type=number]").count() == 1

    await say(page, "换成 gpt-4o")
    assert (await nodes(page))["extract"]["kind"] == "llm · gpt-4o"
    assert await page.inner_text("#undo") == "撤销"
    await page.click("#undo")
    await page.locator("#board[data-version='4']").wait_for(state="attached")
    assert (await nodes(page))["extract"]["kind"] == "llm · gpt-4o-mini"
    assert "已撤销上一次修改：恢复到第 2 版（保存为第 4 版）" in await page.inner_text("#messages")

    await page.fill("#run-fields textarea[name=text]", "发票：客户 张三，金额 500 元，请在月底前付款。")
    await page.fill("#run-fields input[name=amount]", "500")
    await page.fill("#run-fields textarea[name=email_to]", "boss@example.com")
    await page.click("#run-button")
    assert await wait_run_over(page) == "succeeded"
    await assert_run_matches_server(page, server_api)
    drawn = await nodes(page)
    assert drawn["send_email"]["status"] == "已跳过" and drawn["extract"]["status"] == "成功"
    assert (await state_log(page))["extract"] == ["queued", "running", "streaming", "succeeded"]
    assert "运行成功" in await page.inner_text("#run-status")
    await page.screenshot(path=artifacts / "chinese-run.png")
    print(f"screenshot: {artifacts / 'chinese-run.png'}")


def drop_test_workflow() -> dict:
    """Two streaming LLM steps and a flaky tool in parallel, and a branch that is not taken."""
    return {"name": "network drop", "nodes": [
        node("start", "input", fields=[{"name": "text", "type": "string", "required": True}]),
        node("summary", "llm", model="offline", prompt="Summarise in three bullet points: {{ inputs.text }}"),
        node("french", "llm", model="offline", prompt="Translate into French: {{ inputs.text }}"),
        tool("flaky", fail=[{"status": 503}], retry={"max_attempts": 3, "initial_delay_s": 0.3, "jitter": 0}),
        node("route", "condition", cases=[{"id": "huge", "when": "inputs.text | length > 100000"}]),
        node("deep", "llm", model="offline", prompt="Analyse {{ inputs.text }}"),
        node("out", "output", outputs={"summary": "{{ nodes.summary.output }}", "french": "{{ nodes.french.output }}"}),
    ], "edges": [
        edge("start", "summary"), edge("start", "french"), edge("start", "flaky"), edge("start", "route"),
        edge("route", "deep", "huge"), edge("route", "out", "else"),
        edge("summary", "out"), edge("french", "out"), edge("flaky", "out"), edge("deep", "out"),
    ]}


async def test_network_drop_mid_run(new_page, panel_server, server_api, artifacts):
    created = await server_api.http.post("/api/workflows", json=drop_test_workflow())
    assert created.status_code == 201, created.text
    page = await new_page("en-US")
    await sign_in(page, f"{panel_server.url}/panel?workflow={created.json()['id']}", panel_server.key)
    await page.locator("[data-node-id=flaky]").wait_for()
    await record(page)
    text = ("The quarterly report shows revenue up twelve percent. Costs fell in logistics. "
            "Hiring slowed in the second half. The board approved a new product line for Asia. ") * 3
    await page.fill("#run-fields textarea[name=text]", text)
    panel_server.llm_delay(0.05)
    with scripted_tool():
        await page.click("#run-button")
        await page.locator("#canvas [data-state=streaming]").first.wait_for(state="attached")
        # The network drops: the open stream is reset and, while offline, reconnects fail.
        await page.context.set_offline(True)
        panel_server.proxy.drop()
        await asyncio.sleep(1.0)  # the run goes on meanwhile
        assert await run_attr(page, "status") == "running"
        await page.context.set_offline(False)
        assert await wait_run_over(page) == "succeeded"

    resumed_from = [int(i) for i in (await run_attr(page, "resumed-from")).split(",")]
    events, _ = await assert_run_matches_server(page, server_api)
    assert int(await run_attr(page, "reconnects")) >= 1
    # It resumed mid-stream with Last-Event-ID: the events after it came once, none missing.
    assert 0 < resumed_from[0] < len(events) - 5
    log = await state_log(page)
    assert log["flaky"] == ["queued", "running", "retry", "running", "succeeded"]
    assert log["summary"] == log["french"] == ["queued", "running", "streaming", "succeeded"]
    assert log["deep"] == ["queued", "skipped"]
    stats = await page.evaluate("() => window.pilotPanel.graph.stats")
    print(f"network drop: {len(events)} events, resumed after id(s) {resumed_from}, "
          f"{stats['deltas']} deltas painted in {stats['paints']} node repaints")
    await page.screenshot(path=artifacts / "network-drop-run.png")
    print(f"screenshot: {artifacts / 'network-drop-run.png'}")


async def test_sse_parser_handles_any_chunking(new_page, panel_server):
    """The page's SSE parser (api.js) gives the same events however the bytes are split: CRLF or
    LF, a line ending or a UTF-8 character cut between chunks, pings, multi-line data."""
    wire = ('id: 1\r\nevent: node.delta\r\ndata: {"node_id": "a", "text": "你好 world"}\r\n\r\n'
            ': ping - 2026-01-01 00:00:00\r\n\r\n'
            'id: 2\nevent: run.finished\ndata: {"status":\ndata: "succeeded"}\n\n').encode()
    page = await new_page()
    await page.goto(f"{panel_server.url}/panel")
    parsed = await page.evaluate("""async (bytes) => {
      const { readSse } = await import('/panel/api.js');
      const out = {};
      for (const size of [1, 2, 3, 7, 1000]) {
        const body = new ReadableStream({ start(c) {
          for (let i = 0; i < bytes.length; i += size) c.enqueue(new Uint8Array(bytes.slice(i, i + size)));
          c.close();
        } });
        out[size] = [];
        for await (const message of readSse(body)) out[size].push(message);
      }
      return out;
    }""", list(wire))
    expected = [{"id": 1, "event": "node.delta", "data": {"node_id": "a", "text": "你好 world"}},
                {"id": 2, "event": "run.finished", "data": {"status": "succeeded"}}]
    assert parsed == {str(size): expected for size in (1, 2, 3, 7, 1000)}


async def test_the_link_pilot_serve_prints_signs_the_tab_in(new_page, panel_server):
    """`pilot serve` prints /panel#key=<dev key>: the page keeps the key for the tab, takes it out of
    the address bar, asks nothing, and the first request builds a workflow with it."""
    page = await new_page()
    await page.goto(f"{panel_server.url}/panel#key={panel_server.key}")
    assert await page.evaluate("() => sessionStorage.getItem('pilot.apiKey')") == panel_server.key
    assert await page.evaluate("() => location.hash") == ""
    assert await page.locator("#key-dialog[open]").count() == 0
    await say(page, "translate this text into French")
    assert await page.evaluate("() => window.pilotPanel.chat.workflow && window.pilotPanel.chat.workflow.id") is not None
