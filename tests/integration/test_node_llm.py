"""The ``llm`` node against the fake OpenAI-compatible server over a real socket: streamed deltas,
usage and cost, retry classification (500, 429 + Retry-After), model fallback, structured output,
the offline provider and the jinja2 sandbox."""

from __future__ import annotations

import pytest

from pilot.engine.errors import NodeError
from pilot.engine.nodes.llm import LlmRunner
from pilot.llm.prices import estimate_cost
from pilot.settings import Settings
from tests.support.fake_openai import fail, reply
from tests.support.fake_openai import json as json_reply
from tests.support.node_ctx import make_ctx, services

RUN = LlmRunner()
SCHEMA = {
    "type": "object",
    "required": ["category", "confidence"],
    "properties": {"category": {"type": "string", "enum": ["billing", "bug"]}, "confidence": {"type": "number"}},
}


def _ctx(fake, config: dict, scope: dict | None = None):
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url, "PILOT_LLM_TIMEOUT_S": "5"})
    return make_ctx({"type": "llm", "config": config}, services(settings), scope=scope)


async def test_streams_deltas_and_counts_usage(fake_openai) -> None:
    fake_openai.script(reply("Hacker News today: three big stories about databases"))
    ctx = _ctx(fake_openai, {"model": "gpt-4o-mini", "system": "You summarise.", "prompt": "Summarise {{ inputs.topic }}"},
               {"inputs": {"topic": "HN"}, "nodes": {}})
    out = await RUN.run(ctx)
    deltas = ctx.of("node.delta")
    assert out == "Hacker News today: three big stories about databases"
    assert len(deltas) > 3 and "".join(d["text"] for d in deltas) == out
    assert all(d["node_id"] == "n1" for d in deltas)
    usage = ctx.usage
    assert usage["llm_calls"] == 1 and usage["completion_tokens"] > 0 and usage["total_tokens"] > usage["completion_tokens"]
    assert usage["cost_usd"] == estimate_cost("gpt-4o-mini", usage["prompt_tokens"], usage["completion_tokens"]) > 0
    sent = fake_openai.chat_requests()[-1]
    assert sent.messages == [{"role": "system", "content": "You summarise."}, {"role": "user", "content": "Summarise HN"}]
    assert sent.body["stream"] is True


async def test_500_is_retryable(fake_openai) -> None:
    fake_openai.script(fail(500))
    with pytest.raises(NodeError, match="500") as info:
        await RUN.run(_ctx(fake_openai, {"prompt": "hi"}))
    assert info.value.retryable


async def test_429_retry_after_is_parsed(fake_openai) -> None:
    fake_openai.script(fail(429, retry_after=2))
    with pytest.raises(NodeError, match="429") as info:
        await RUN.run(_ctx(fake_openai, {"prompt": "hi", "fallback_models": ["gpt-4o"]}))
    # rate limits are not a dead-model signal: no fallback, the engine waits Retry-After
    assert info.value.retryable and info.value.retry_after == 2
    assert len(fake_openai.chat_requests()) == 1


async def test_dead_primary_falls_back_to_next_model(fake_openai) -> None:
    fake_openai.missing_models = {"gpt-4o-mini"}
    fake_openai.script(reply("answer from backup"), model="backup-model")
    ctx = _ctx(fake_openai, {"model": "gpt-4o-mini", "prompt": "hi", "fallback_models": ["backup-model"]})
    assert await RUN.run(ctx) == "answer from backup"
    assert ctx.of("node.fallback") == [{"node_id": "n1", "from_model": "gpt-4o-mini", "to_model": "backup-model"}]
    assert [r.model for r in fake_openai.chat_requests()] == ["gpt-4o-mini", "backup-model"]
    assert ctx.usage["llm_calls"] == 1  # only the call that completed is counted


async def test_5xx_primary_falls_back_and_last_error_is_raised(fake_openai) -> None:
    fake_openai.script(fail(503), model="gpt-4o-mini")
    fake_openai.missing_models = {"gpt-4o"}
    ctx = _ctx(fake_openai, {"model": "gpt-4o-mini", "prompt": "hi", "fallback_models": ["gpt-4o"]})
    with pytest.raises(NodeError, match="'gpt-4o' failed.*404") as info:
        await RUN.run(ctx)
    assert not info.value.retryable  # the last model is dead: retrying will not help
    assert [f["to_model"] for f in ctx.of("node.fallback")] == ["gpt-4o"]


async def test_dead_model_without_fallback_is_not_retryable(fake_openai) -> None:
    fake_openai.missing_models = {"gpt-4o-mini"}
    with pytest.raises(NodeError, match="404") as info:
        await RUN.run(_ctx(fake_openai, {"prompt": "hi"}))
    assert not info.value.retryable


async def test_output_schema_is_requested_parsed_and_validated(fake_openai) -> None:
    fake_openai.script(json_reply({"category": "bug", "confidence": 0.9}))
    out = await RUN.run(_ctx(fake_openai, {"prompt": "classify: app crashes", "output_schema": SCHEMA}))
    assert out == {"category": "bug", "confidence": 0.9}
    sent = fake_openai.chat_requests()[-1]
    assert sent.body["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in sent.messages[0]["content"]


async def test_output_not_matching_schema_fails(fake_openai) -> None:
    fake_openai.script(json_reply({"category": "sales", "confidence": 0.9}))
    with pytest.raises(NodeError, match=r"does not match output_schema: \$\.category: 'sales' is not one of"):
        await RUN.run(_ctx(fake_openai, {"prompt": "classify", "output_schema": SCHEMA}))
    fake_openai.script(reply("I think it is a bug."))
    with pytest.raises(NodeError, match="did not return JSON"):
        await RUN.run(_ctx(fake_openai, {"prompt": "classify", "output_schema": SCHEMA}))


async def test_sandbox_escape_in_prompt_fails_the_node(fake_openai) -> None:
    with pytest.raises(NodeError, match="prompt: template refused by the sandbox") as info:
        await RUN.run(_ctx(fake_openai, {"prompt": "{{ ().__class__.__mro__ }}"}))
    assert not info.value.retryable
    with pytest.raises(NodeError, match="system: .*sandbox"):
        await RUN.run(_ctx(fake_openai, {"prompt": "x", "system": "{{ inputs.__class__ }}"}))
    assert fake_openai.chat_requests() == []  # nothing was sent


async def test_offline_without_api_key() -> None:
    ctx = make_ctx({"type": "llm", "config": {"prompt": "Summarise: The team shipped the new search. Users love it."}},
                   services(Settings.from_env({})))
    out = await RUN.run(ctx)
    assert out.startswith("[offline]")
    assert "".join(d["text"] for d in ctx.of("node.delta")) == out
    assert ctx.usage["cost_usd"] == 0 and ctx.usage["completion_tokens"] > 0


async def test_offline_model_name_with_key_set(fake_openai) -> None:
    out = await RUN.run(_ctx(fake_openai, {"model": "offline", "prompt": "hello"}))
    assert "[offline]" in out and fake_openai.chat_requests() == []


async def test_offline_structured_output_is_schema_valid() -> None:
    ctx = make_ctx({"type": "llm", "config": {"prompt": "classify: crash", "output_schema": SCHEMA}},
                   services(Settings.from_env({})))
    out = await RUN.run(ctx)
    assert out["category"] in ("billing", "bug") and isinstance(out["confidence"], (int, float))


async def test_usage_records_a_hash_of_the_request_never_its_text() -> None:
    async def hashes(config: dict, topic: str) -> dict:
        ctx = make_ctx({"type": "llm", "config": config}, services(Settings.from_env({})), scope={"inputs": {"topic": topic}, "nodes": {}})
        await RUN.run(ctx)
        assert "Tell me about" not in repr(ctx.usage) and topic not in repr(ctx.usage)
        return ctx.usage["prompt_hashes"]

    base = {"system": "Be brief.", "prompt": "Tell me about {{ inputs.topic }}"}
    first = await hashes(base, "otters")
    assert len(first) == 1 and list(first.values()) == [1] and len(next(iter(first))) == 24
    assert await hashes(base, "otters") == first  # the same rendered request: the same hash
    assert await hashes(base, "beavers") != first  # another rendered prompt
    assert await hashes({**base, "system": "Be long."}, "otters") != first
    assert await hashes({**base, "temperature": 0}, "otters") != first  # another sampling parameter
    assert await hashes({**base, "model": "gpt-4o"}, "otters") != first
