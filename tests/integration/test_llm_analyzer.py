"""The LLM analyzer through the real openai SDK + instructor against the fake OpenAI server (real socket)."""

from __future__ import annotations

import pytest

from pilot.generation.analyzer import PromptAnalyzer
from pilot.generation.generator import WorkflowGenerator
from pilot.settings import Settings
from pilot.templates.catalog import default_catalog
from pilot.workflows.validation import validate_graph
from tests.support.fake_openai import fail, hang, json

PROMPT = "every morning summarise Hacker News and post it to Slack"
ANSWER = {
    "template_id": "scheduled_digest",
    "confidence": 0.92,
    "title": "Hacker News morning digest",
    "features": {"loop": True, "condition": False, "knowledge": False, "notification": True, "web_fetch": True,
                 "api": False, "human_review": False},
    "destinations": ["slack", "not-a-service"],
    "sources": [],
    "schedule_cron": "0 8 * * *",
    "schedule_text": "every morning",
    "target_languages": [],
    "condition_terms": [],
    "steps": [{"action": "trigger", "text": "every morning"}, {"action": "fetch", "text": "read Hacker News"},
              {"action": "process", "text": "summarise"}, {"action": "notify", "text": "post to Slack"}],
}


def _settings(fake, **env) -> Settings:
    return Settings.from_env({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url, "PILOT_LLM_TIMEOUT_S": "10",
                              "PILOT_LLM_MAX_RETRIES": "2", "PILOT_LLM_REASK_RETRIES": "2", **env})


def _analyzer(fake, timeout: float | None = None, **env) -> PromptAnalyzer:
    return PromptAnalyzer(default_catalog(), _settings(fake, **env).llm, llm_timeout_s=timeout)


async def test_llm_blueprint(fake_openai):
    fake_openai.script(json(ANSWER))
    bp = await _analyzer(fake_openai).analyze(PROMPT)
    assert bp.source == "llm" and bp.fallback_reason is None
    assert bp.template_id == "scheduled_digest" and bp.confidence == 0.92 and bp.language == "en"
    assert bp.entities.destinations == ["slack"]  # unknown services dropped
    assert bp.entities.schedule.cron == "0 8 * * *" and bp.features.schedule
    assert [s.node_type for s in bp.steps] == ["input", "api", "llm", "tool"]
    # the offline ranking backs the recommendations
    assert bp.candidates[0].template_id == "scheduled_digest" and len(bp.candidates) > 1
    # the request travels as delimited data, the system prompt lists the templates
    messages = fake_openai.chat_requests()[0].body["messages"]
    assert messages[0]["role"] == "system" and "scheduled_digest" in messages[0]["content"]
    assert messages[-1]["content"].startswith("<request>") and PROMPT in messages[-1]["content"]
    graph = WorkflowGenerator(default_catalog()).generate(bp, PROMPT)
    assert validate_graph(graph).valid and graph.settings.schedule == "0 8 * * *"


async def test_reask_after_invalid_output(fake_openai):
    fake_openai.script(json({**ANSWER, "template_id": "make_me_a_sandwich"}), json({**ANSWER, "schedule_cron": "tomorrow"}),
                       json(ANSWER))
    bp = await _analyzer(fake_openai).analyze(PROMPT)
    assert bp.source == "llm" and bp.template_id == "scheduled_digest"
    requests = fake_openai.chat_requests()
    assert len(requests) == 3
    # instructor sends the validation error back to the model
    assert "make_me_a_sandwich" in str(requests[1].body["messages"]) or "template_id" in str(requests[1].body["messages"])


async def test_429_then_success(fake_openai):
    fake_openai.script(fail(429, retry_after=0.2), json(ANSWER))
    bp = await _analyzer(fake_openai).analyze(PROMPT)
    assert bp.source == "llm"
    assert len(fake_openai.chat_requests()) == 2


async def test_timeout_falls_back_to_offline(fake_openai):
    fake_openai.script(hang(5))
    bp = await _analyzer(fake_openai, timeout=0.5).analyze(PROMPT)
    assert bp.source == "offline" and bp.fallback_reason and "timed out" in bp.fallback_reason
    assert bp.template_id == "scheduled_digest"  # the offline analysis is still good


async def test_invalid_forever_falls_back(fake_openai):
    fake_openai.script(*[json({"nonsense": True})] * 5)
    bp = await _analyzer(fake_openai).analyze("translate this into German")
    assert bp.source == "offline" and bp.fallback_reason and bp.template_id == "translation"


@pytest.mark.parametrize("status", [500, 401])
async def test_server_errors_fall_back(fake_openai, status):
    fake_openai.script(*[fail(status)] * 4)
    bp = await _analyzer(fake_openai).analyze("translate this into German")
    assert bp.source == "offline" and bp.fallback_reason


async def test_generate_endpoint_uses_the_llm(fake_openai, tmp_path):
    from litestar.testing import AsyncTestClient

    from pilot.app import create_app
    from tests.conftest import new_workspace_key

    settings = _settings(fake_openai, PILOT_DATA_DIR=str(tmp_path / ".pilot"))
    plan = {"title": "HN digest", "language": "en", "trigger": {"kind": "schedule", "cron": "0 8 * * *"},
            "steps": [{"kind": "source", "id": "hn", "service": "hacker_news"},
                      {"kind": "ai", "id": "digest", "task": "summarize"},
                      {"kind": "deliver", "id": "post", "service": "slack", "operation": "post"}]}
    fake_openai.script(json({"plan": plan}))
    async with AsyncTestClient(app=create_app(settings)) as client:
        key = await new_workspace_key(client.app)
        r = await client.post("/api/workflows/generate", json={"prompt": PROMPT, "save": False},
                              headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["blueprint"]["source"] == "llm" and body["workflow"]["settings"]["schedule"] == "0 8 * * *"
    assert [n["id"] for n in body["workflow"]["nodes"]] == ["start", "hn", "digest", "send_slack", "result"]
    assert len(fake_openai.chat_requests()) == 1  # one call: the plan
    assert body["estimate"]["cost_usd"] > 0  # a key is configured: priced at gpt-4o-mini rates
