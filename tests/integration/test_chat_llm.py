"""The chat with an LLM key end to end: a real server with the real openai SDK + instructor talking
to the local OpenAI-compatible fake. Edits: valid ops are applied; invalid ops are re-asked with
the error; ops that never validate (or a failing LLM) fall back to the rule-based planner.
Creation: the LLM planner's plan is compiled and streamed op by op (offline planner on failure)."""

from __future__ import annotations

import msgspec
import pytest

from pilot.app import create_app
from pilot.templates.catalog import default_catalog
from tests.conftest import new_workspace_key
from tests.support.chat import ChatClient, assert_built_op_by_op
from tests.support.fake_openai import fail, json
from tests.support.plans import APPLICANT_PLAN as PLAN
from tests.support.servers import serve_in_thread


@pytest.fixture
async def llm_chat(fake_openai, make_settings):
    settings = make_settings(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake_openai.base_url, PILOT_LLM_REASK_RETRIES="1",
                             PILOT_LLM_MAX_RETRIES="1", PILOT_LLM_TIMEOUT_S="20")
    app = create_app(settings)
    with serve_in_thread(app) as url:
        client = ChatClient(url, await new_workspace_key(app))
        graph = msgspec.to_builtins(default_catalog().instantiate("translation"))
        response = await client.http.post("/api/workflows", json={"name": "Translator", "template_id": "translation", **graph})
        assert response.status_code == 201, response.text
        session = await client.session(workflow_id=response.json()["id"])
        try:
            yield client, session
        finally:
            await client.aclose()


def models(workflow: dict) -> dict[str, str]:
    return {n["id"]: n["config"]["model"] for n in workflow["nodes"] if n["type"] == "llm"}


VALID = {"ops": [{"op": "update_node", "node_id": "review", "config": {"model": "gpt-4.1-mini"}}],
         "explanation": "The review step now uses gpt-4.1-mini."}
INVALID = {"ops": [{"op": "remove_node", "node_id": "approval"}], "explanation": "Removed the approval step."}


async def test_valid_ops_from_the_llm_are_applied(llm_chat, fake_openai):
    chat, session = llm_chat
    fake_openai.script(json(VALID))
    reply = await chat.send(session["id"], "let the reviewer use the newer mini model")
    assert reply.finished["outcome"] == "edited", reply.text
    assert reply.of("analysis")[0]["planner"] == "llm"
    assert models(reply.workflow) == {"translate": "gpt-4o-mini", "review": "gpt-4.1-mini"}
    assert [d["node_id"] for d in reply.of("workflow.node_updated")] == ["review"]
    assert "gpt-4.1-mini" in reply.text
    [request] = fake_openai.chat_requests()
    prompt = request.messages[-1]["content"]
    assert "let the reviewer use the newer mini model" in prompt and '"id": "review"' in prompt


async def test_invalid_ops_are_reasked_with_the_error(llm_chat, fake_openai):
    chat, session = llm_chat
    fake_openai.script(json(INVALID), json(VALID))
    reply = await chat.send(session["id"], "let the reviewer use the newer mini model")
    assert reply.finished["outcome"] == "edited" and reply.of("analysis")[0]["planner"] == "llm"
    assert models(reply.workflow)["review"] == "gpt-4.1-mini"
    first, second = fake_openai.chat_requests()
    assert "there is no step 'approval'" in str(second.messages[len(first.messages):])


async def test_ops_that_never_validate_fall_back_to_the_rules(llm_chat, fake_openai):
    chat, session = llm_chat
    fake_openai.script(json(INVALID), json(INVALID), json(INVALID))
    reply = await chat.send(session["id"], "use gpt-4o")
    assert reply.finished["outcome"] == "edited", reply.text
    assert reply.of("analysis")[0]["planner"] == "rules"
    assert models(reply.workflow) == {"translate": "gpt-4o", "review": "gpt-4o"}
    assert len(fake_openai.chat_requests()) == 2  # one ask + one re-ask, then the fallback
    assert not [n for n in reply.workflow["nodes"] if n["id"] == "approval"]


async def test_a_failing_llm_falls_back_to_the_rules(llm_chat, fake_openai):
    chat, session = llm_chat
    fake_openai.script(fail(500), fail(500), fail(500))
    reply = await chat.send(session["id"], "同时发邮件给我")
    assert reply.finished["outcome"] == "edited" and reply.of("analysis")[0]["planner"] == "rules"
    assert any(n["type"] == "tool" and n["config"]["tool"] == "email" for n in reply.workflow["nodes"])
    assert "邮件" in reply.text


async def test_creation_builds_the_llm_planners_plan_op_by_op(llm_chat, fake_openai):
    """With a key, a new chat's request is planned by the LLM planner (one call) and the plan is
    compiled and streamed as it is built; follow-ups still go to the edit planner."""
    chat, _ = llm_chat
    session = await chat.session()
    fake_openai.script(json({"plan": PLAN}))
    reply = await chat.send(session["id"], "when a new applicant row is added, score the CV; above 7 email the hiring "
                                           "manager, otherwise send the candidate a rejection")
    assert reply.finished["outcome"] == "created", reply.text
    blueprint = reply.of("blueprint")[0]["blueprint"]
    assert blueprint["source"] == "llm" and blueprint["plan"]["title"] == "Screen applicants"
    assert assert_built_op_by_op(reply) == ["start", "score_cv", "check", "send_email", "send_email_2", "result"]
    check = next(n for n in reply.workflow["nodes"] if n["id"] == "check")
    assert check["config"]["cases"][0]["when"] == "nodes.score_cv.output.score > 7"
    assert reply.workflow["nodes"][0]["config"]["trigger"] == {"kind": "app_event", "service": "google_sheets", "event": "new row"}
    assert len(fake_openai.chat_requests()) == 1


async def test_a_failing_llm_planner_falls_back_to_the_offline_planner_for_creation(llm_chat, fake_openai):
    chat, _ = llm_chat
    session = await chat.session()
    fake_openai.script(fail(500), fail(500), fail(500), fail(500))
    reply = await chat.send(session["id"], "summarize long documents")
    assert reply.finished["outcome"] == "created", reply.text
    blueprint = reply.of("blueprint")[0]["blueprint"]
    assert blueprint["source"] == "offline" and blueprint["fallback_reason"]
    assert [n["type"] for n in reply.workflow["nodes"]] == ["input", "llm", "output"]
    assert_built_op_by_op(reply)
