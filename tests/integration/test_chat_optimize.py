"""Optimising a workflow by chat over a real socket (SQLite and PostgreSQL): each suggestion's
chat message applies exactly its edit; "make it cheaper" / "提速" apply the top suggestions for
that goal and say what they save, in the chat's language."""

from __future__ import annotations

import copy

from tests.api.test_analytics_api import OPT_WF, seed_optimisable
from tests.support.analytics import workspace_of
from tests.support.chat import ChatClient, assert_edit, pairs, turn


async def _optimisable(live_server) -> tuple[ChatClient, dict, dict]:
    key = await live_server.new_key()
    chat = ChatClient(live_server.url, key)
    response = await chat.http.post("/api/workflows", json=copy.deepcopy(OPT_WF))
    assert response.status_code == 201, response.text
    workflow = response.json()
    await seed_optimisable(live_server.app, await workspace_of(live_server.app, key), workflow)
    return chat, workflow, await chat.session(workflow_id=workflow["id"])


async def test_each_suggestion_applies_through_chat(live_server):
    chat, v1, session = await _optimisable(live_server)
    try:
        suggestions = (await chat.http.get(f"/api/workflows/{v1['id']}/suggestions")).json()["items"]
        by_kind = {s["kind"]: s for s in suggestions}

        r = await turn(chat, session["id"], by_kind["parallelize"]["edit"]["message"])
        assert_edit(v1, r.workflow, changed=set())  # only the wiring changed
        wiring = pairs(r.workflow)
        for fetch in ("fetch_a", "fetch_b", "fetch_c"):  # each fetch now hangs off start and feeds classify
            assert {("start", fetch), (fetch, "classify")} <= wiring
        assert not {(a, b) for a, b in wiring if a.startswith("fetch") and b.startswith("fetch")}
        assert "about 300 ms faster per run" in r.text
        v2 = r.workflow

        r = await turn(chat, session["id"], by_kind["cheaper_model"]["edit"]["message"])
        new = assert_edit(v2, r.workflow, changed={"classify"})
        assert new["classify"]["config"]["model"] == "gpt-4o-mini"
        v3 = r.workflow

        r = await turn(chat, session["id"], by_kind["retry"]["edit"]["message"])
        new = assert_edit(v3, r.workflow, changed={"fetch_c"})
        assert new["fetch_c"]["retry"] == {"max_attempts": 4, "initial_delay_s": 2.0, "backoff": 2.0, "max_delay_s": 30.0,
                                           "jitter": 0.25}
        v4 = r.workflow

        r = await turn(chat, session["id"], by_kind["loop_concurrency"]["edit"]["message"])
        new = assert_edit(v4, r.workflow, changed={"each"})
        assert new["each"]["config"]["max_concurrency"] == 4

        # applied already: the same message changes nothing and says so
        again = await turn(chat, session["id"], by_kind["cheaper_model"]["edit"]["message"], outcome="unchanged")
        assert "does not apply" in again.text
    finally:
        await chat.aclose()


async def test_make_it_cheaper_and_faster(live_server):
    chat, v1, session = await _optimisable(live_server)
    try:
        r = await turn(chat, session["id"], "make it cheaper")
        new = assert_edit(v1, r.workflow, changed={"classify"})
        assert new["classify"]["config"]["model"] == "gpt-4o-mini"
        # 1000 tokens in / 100 out per run: gpt-4o $0.0035 → gpt-4o-mini $0.00021
        assert "To cut the cost: switched 'Classify the ticket' to gpt-4o-mini (about $0.003290 less per run" in r.text
        v2 = r.workflow

        r = await turn(chat, session["id"], "提速")  # a Chinese request gets a Chinese reply
        new = assert_edit(v2, r.workflow, changed={"each"})
        assert new["each"]["config"]["max_concurrency"] == 4
        assert {("start", "fetch_b"), ("start", "fetch_c"), ("fetch_a", "classify")} <= pairs(r.workflow)
        assert r.text.startswith("为提速：") and "每次运行约快 720 毫秒" in r.text and "每次运行约快 300 毫秒" in r.text
        v3 = r.workflow

        r = await turn(chat, session["id"], "降低成本", outcome="unchanged")  # nothing left to make cheaper
        assert "没有找到可以安全修改的地方" in r.text and r.workflow is None
        assert await chat.workflow(v1["id"]) == v3
    finally:
        await chat.aclose()
