"""The LLM edit planner end to end: a real server with the real openai SDK + instructor talking
to the local OpenAI-compatible fake. Valid ops are applied; invalid ops are re-asked with the
error; ops that never validate (or a failing LLM) fall back to the rule-based planner."""

from __future__ import annotations

import msgspec
import pytest

from pilot.app import create_app
from pilot.templates.catalog import default_catalog
from tests.conftest import new_workspace_key
from tests.support.chat import ChatClient
from tests.support.fake_openai import fail, json
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
