"""The LLM planner through the real openai SDK + instructor against the fake OpenAI server (real socket)."""

from __future__ import annotations

from pilot.generation.pipeline import Planner
from pilot.generation.plan import AiStep, BranchStep
from pilot.generation.compiler import compile_plan
from pilot.settings import Settings
from pilot.workflows.validation import validate_graph
from tests.support.fake_openai import fail, json

from tests.support.plans import APPLICANT_PLAN as GOLD
from tests.support.plans import APPLICANT_PROMPT as PROMPT


def _planner(fake) -> Planner:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url, "PILOT_LLM_TIMEOUT_S": "10",
                                  "PILOT_LLM_MAX_RETRIES": "1", "PILOT_LLM_REASK_RETRIES": "2"})
    return Planner(settings.llm, timeout_s=10)


async def test_llm_plan_compiles_to_the_requested_workflow(fake_openai):
    fake_openai.script(json({"plan": GOLD}))
    result = await _planner(fake_openai).plan(PROMPT)
    assert result.source == "llm" and result.fallback_reason is None
    assert isinstance(result.plan.steps[0], AiStep) and isinstance(result.plan.steps[1], BranchStep)
    graph = compile_plan(result.plan)
    assert validate_graph(graph).valid
    cond = next(n for n in graph.nodes if n.id == "check")
    assert cond.config.cases[0].when == "nodes.score_cv.output.score > 7"
    by_handle = {e.source_handle: e.target for e in graph.edges if e.source == "check"}
    assert by_handle == {"strong": "send_email", "else": "send_email_2"}
    messages = fake_openai.chat_requests()[0].body["messages"]
    assert "JSON schema of the plan" in messages[0]["content"]  # the vocabulary is taught
    assert messages[-1]["content"].startswith("<request>") and PROMPT in messages[-1]["content"]


async def test_a_plan_that_does_not_decode_is_reasked(fake_openai):
    bad = {**GOLD, "trigger": {"kind": "carrier_pigeon"}}
    fake_openai.script(json({"plan": bad}), json({"plan": GOLD}))
    result = await _planner(fake_openai).plan(PROMPT)
    assert result.source == "llm"
    requests = fake_openai.chat_requests()
    assert len(requests) == 2
    assert "carrier_pigeon" in str(requests[1].body["messages"]) or "schema" in str(requests[1].body["messages"])


async def test_server_errors_fall_back_to_the_offline_planner(fake_openai):
    fake_openai.script(fail(500), fail(500), fail(500), fail(500))
    result = await _planner(fake_openai).plan(PROMPT)
    assert result.source == "offline" and result.fallback_reason and "llm planning failed" in result.fallback_reason
    # the offline plan still builds the requested structure
    graph = compile_plan(result.plan)
    assert any(n.config.cases[0].when.endswith("> 7") for n in graph.nodes if n.__struct_config__.tag == "condition")


async def test_generate_endpoint_uses_the_llm(fake_openai, tmp_path):
    from litestar.testing import AsyncTestClient

    from pilot.app import create_app
    from tests.conftest import new_workspace_key

    settings = Settings.from_env({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai.base_url,
                                  "PILOT_LLM_TIMEOUT_S": "10", "PILOT_DATA_DIR": str(tmp_path / ".pilot")})
    plan = {"title": "HN digest", "language": "en", "trigger": {"kind": "schedule", "cron": "0 8 * * *"},
            "steps": [{"kind": "source", "id": "hn", "service": "hacker_news"},
                      {"kind": "ai", "id": "digest", "task": "summarize"},
                      {"kind": "deliver", "id": "post", "service": "slack", "operation": "post"}]}
    fake_openai.script(json({"plan": plan}))
    async with AsyncTestClient(app=create_app(settings)) as client:
        key = await new_workspace_key(client.app)
        r = await client.post("/api/workflows/generate", json={"prompt": "every morning summarise Hacker News and post it to Slack", "save": False},
                              headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["blueprint"]["source"] == "llm" and body["workflow"]["settings"]["schedule"] == "0 8 * * *"
    assert [n["id"] for n in body["workflow"]["nodes"]] == ["start", "hn", "digest", "send_slack", "result"]
    assert len(fake_openai.chat_requests()) == 1  # one call: the plan
    assert body["estimate"]["cost_usd"] > 0  # a key is configured: priced at gpt-4o-mini rates
