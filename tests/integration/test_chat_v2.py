"""Chat follow-ups that add v2 steps, over a real socket: a wait in front of the email (then a new
duration), an approval, and a ``workflow`` step that runs the workspace workflow the user names."""

from __future__ import annotations

import msgspec
import pytest

from pilot.generation.compiler import compile_plan
from pilot.generation.plan import AiStep, DeliverStep, SourceStep, WorkflowPlan
from pilot.workflows.model import ManualTrigger
from tests.support.chat import ChatClient, assert_edit, pairs, session_on, turn


@pytest.fixture
async def chat(live_server):
    client = ChatClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


def welcome(lang: str):
    return compile_plan(WorkflowPlan(title="Welcome", language=lang, trigger=ManualTrigger(), steps=[
        AiStep(id="write", task="generate", instruction="write a welcome email"),
        DeliverStep(id="send", service="email", target="the lead")]))


@pytest.mark.parametrize("lang,add,change,title", [
    ("en", "wait 2 days before sending the email", "change the wait to 3 hours", "Wait 3 hours"),
    ("zh", "发邮件前先等两天", "把等待改成3小时", "等待 3 小时"),
])
async def test_a_wait_then_a_new_duration(chat, lang, add, change, title):
    session, v1 = await session_on(chat, welcome(lang), "Welcome")
    send = next(n["id"] for n in v1["nodes"] if n["type"] == "tool")
    reply = await turn(chat, session["id"], add)
    new = assert_edit(v1, reply.workflow, added={"wait"})
    assert new["wait"]["type"] == "wait" and new["wait"]["config"]["duration_s"] == 172800
    assert {("write", "wait"), ("wait", send)} <= pairs(reply.workflow) and ("write", send) not in pairs(reply.workflow)
    again = await turn(chat, session["id"], change)
    newer = assert_edit(reply.workflow, again.workflow, changed={"wait"})
    assert newer["wait"]["config"]["duration_s"] == 10800 and newer["wait"]["title"] == title


async def test_an_approval_before_posting(chat):
    session, v1 = await session_on(chat, compile_plan(WorkflowPlan(title="Post", trigger=ManualTrigger(), steps=[
        AiStep(id="write", task="generate", instruction="write a LinkedIn post"), DeliverStep(id="post", service="slack")])), "Post")
    reply = await turn(chat, session["id"], "a manager must approve before it is posted")
    new = assert_edit(v1, reply.workflow, added={"approval"})
    assert new["approval"]["config"]["approval"]["approvers"] == ["manager"]
    assert ("approval", "send_slack") in pairs(reply.workflow)
    assert "approv" in reply.text


async def test_a_workflow_step_runs_the_named_workflow_of_the_workspace(chat):
    cleanup = compile_plan(WorkflowPlan(title="Cleanup", trigger=ManualTrigger(), steps=[
        SourceStep(id="records", from_="input", service="records"), AiStep(id="tidy", task="generate", instruction="tidy")]))
    response = await chat.http.post("/api/workflows", json={"name": "Data cleanup", **msgspec.to_builtins(cleanup)})
    assert response.status_code == 201, response.text
    child = response.json()
    session, v1 = await session_on(chat, welcome("en"), "Welcome")
    reply = await turn(chat, session["id"], "run the cleanup workflow after that")
    new = assert_edit(v1, reply.workflow, added={"run_workflow"})
    config = new["run_workflow"]["config"]
    assert config["workflow_id"] == child["id"] and list(config["inputs"]) == ["records"]
    assert ("run_workflow", "result") in pairs(reply.workflow)
