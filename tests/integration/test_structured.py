"""structured(): real openai SDK + instructor against the fake OpenAI server over a socket."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, Field

from pilot.llm.prices import count_message_tokens
from pilot.llm.schemas import StructuredOutputError
from pilot.llm.structured import backoff_delay, structured, usage_of
from pilot.settings import LLMSettings
from tests.support.fake_openai import fail, hang, json, malformed, tool_call

MODES = ["tools", "json_schema", "json"]


class Triage(BaseModel):
    intent: str
    confidence: float = Field(ge=0.0, le=1.0)
    steps: list[str]


GOOD = {"intent": "summarization", "confidence": 0.9, "steps": ["fetch", "summarise", "post"]}
MESSAGES = [{"role": "system", "content": "You analyse requests."},
            {"role": "user", "content": "summarise hacker news every morning"}]


def llm(fake, **overrides) -> LLMSettings:
    values = {"api_key": "sk-test", "base_url": fake.base_url, "timeout_s": 10.0, "max_retries": 2,
              "reask_retries": 2, **overrides}
    return LLMSettings(**values)


@pytest.mark.parametrize("mode", MODES)
async def test_success(fake_openai, mode):
    fake_openai.script(json(GOOD), model="gpt-4o-mini")
    result = await structured(Triage, MESSAGES, settings=llm(fake_openai), mode=mode)
    assert result.model_dump() == GOOD
    [request] = fake_openai.chat_requests()
    assert request.model == "gpt-4o-mini"
    if mode == "tools":
        assert request.body["tools"][0]["function"]["name"] == "Triage"
        assert request.body["tool_choice"]["function"]["name"] == "Triage"
    elif mode == "json_schema":
        assert request.body["response_format"]["type"] == "json_schema"
        assert "confidence" in request.body["response_format"]["json_schema"]["schema"]["properties"]
    else:
        assert request.body["response_format"] == {"type": "json_object"}


async def test_mode_from_settings_and_usage_summed_over_reasks(fake_openai):
    fake_openai.script(json({**GOOD, "confidence": 3}), json(GOOD))
    result = await structured(Triage, MESSAGES, settings=llm(fake_openai, structured_mode="json_schema"))
    first, second = fake_openai.chat_requests()
    assert second.body["response_format"]["type"] == "json_schema"
    usage = usage_of(result)
    # the fake server reports count_message_tokens(messages) per call; both calls are summed
    assert usage.prompt_tokens == count_message_tokens(first.messages) + count_message_tokens(second.messages)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    with pytest.raises(StructuredOutputError):
        await structured(Triage, MESSAGES, settings=llm(fake_openai, structured_mode="yaml"))


async def test_default_responder_satisfies_the_schema_and_analyzer_model_is_used(fake_openai):
    fake_openai.responder = lambda req: {**GOOD, "intent": req.last_user.split()[0]}
    settings = llm(fake_openai, analyzer_model="gpt-4.1-mini")
    result = await structured(Triage, MESSAGES, settings=settings)
    assert result.intent == "summarise"
    assert fake_openai.chat_requests()[0].model == "gpt-4.1-mini"


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_output_is_reasked_with_the_validation_error(fake_openai, mode):
    fake_openai.script(json({**GOOD, "confidence": 7}), json(GOOD))
    result = await structured(Triage, MESSAGES, settings=llm(fake_openai), mode=mode)
    assert result.confidence == 0.9
    first, second = fake_openai.chat_requests()
    assert len(second.messages) > len(first.messages)
    feedback = " ".join(str(m.get("content")) for m in second.messages[len(first.messages):])
    assert "confidence" in feedback and "less than or equal to 1" in feedback


async def test_unparseable_arguments_are_reasked(fake_openai):
    fake_openai.script(tool_call(None, "{not json"), json(GOOD))
    assert (await structured(Triage, MESSAGES, settings=llm(fake_openai))).model_dump() == GOOD
    assert len(fake_openai.chat_requests()) == 2


async def test_gives_up_after_reask_budget(fake_openai):
    fake_openai.script(*[json({"intent": "x"})] * 5)
    with pytest.raises(StructuredOutputError) as info:
        await structured(Triage, MESSAGES, settings=llm(fake_openai, reask_retries=1))
    assert "did not validate" in info.value.message
    assert len(fake_openai.chat_requests()) == 2  # first answer + one re-ask, no transport retries


async def test_429_honours_retry_after_then_succeeds(fake_openai):
    fake_openai.script(fail(429, retry_after=1), json(GOOD))
    started = time.monotonic()
    result = await structured(Triage, MESSAGES, settings=llm(fake_openai), initial_backoff_s=0.01)
    assert result.model_dump() == GOOD
    first, second = fake_openai.chat_requests()
    assert second.received_at - first.received_at >= 1.0
    assert time.monotonic() - started < 5


async def test_500_twice_then_success_with_growing_backoff(fake_openai):
    fake_openai.script(fail(500), fail(502), json(GOOD))
    result = await structured(Triage, MESSAGES, settings=llm(fake_openai), initial_backoff_s=0.1)
    assert result.model_dump() == GOOD
    r1, r2, r3 = fake_openai.chat_requests()
    gap1, gap2 = r2.received_at - r1.received_at, r3.received_at - r2.received_at
    assert gap1 >= 0.08 and gap2 >= 0.16 and gap2 > gap1


async def test_transport_retries_are_bounded(fake_openai):
    fake_openai.script(*[fail(503)] * 6)
    with pytest.raises(StructuredOutputError) as info:
        await structured(Triage, MESSAGES, settings=llm(fake_openai, max_retries=2), initial_backoff_s=0.01)
    assert "503" in info.value.message and info.value.attempts == 3
    assert len(fake_openai.chat_requests()) == 3


async def test_client_error_is_not_retried(fake_openai):
    fake_openai.script(fail(400), json(GOOD))
    with pytest.raises(StructuredOutputError) as info:
        await structured(Triage, MESSAGES, settings=llm(fake_openai), initial_backoff_s=0.01)
    assert "400" in info.value.message
    assert len(fake_openai.chat_requests()) == 1


async def test_retry_after_past_the_deadline_gives_up_at_once(fake_openai):
    fake_openai.script(fail(429, retry_after=60), json(GOOD))
    started = time.monotonic()
    with pytest.raises(StructuredOutputError) as info:
        await structured(Triage, MESSAGES, settings=llm(fake_openai, timeout_s=3))
    assert time.monotonic() - started < 1.0
    assert "deadline" in info.value.message


async def test_hang_times_out_quickly(fake_openai):
    fake_openai.script(hang(30), hang(30), hang(30))
    started = time.monotonic()
    with pytest.raises(StructuredOutputError) as info:
        await structured(Triage, MESSAGES, settings=llm(fake_openai, timeout_s=0.6), initial_backoff_s=0.01)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert "timed out" in info.value.message


async def test_malformed_body_is_handled(fake_openai):
    fake_openai.script(malformed(), json(GOOD))
    assert (await structured(Triage, MESSAGES, settings=llm(fake_openai), initial_backoff_s=0.01)).model_dump() == GOOD
    fake_openai.reset()
    fake_openai.script(*[malformed()] * 6)
    with pytest.raises(StructuredOutputError):
        await structured(Triage, MESSAGES, settings=llm(fake_openai), initial_backoff_s=0.01)


async def test_no_key_fails_fast_without_network(fake_openai):
    with pytest.raises(StructuredOutputError):
        await structured(Triage, MESSAGES, settings=LLMSettings(base_url=fake_openai.base_url))
    assert fake_openai.requests == []


def test_backoff_delay_grows_caps_and_respects_retry_after():
    assert 0.4 <= backoff_delay(1) <= 0.6
    assert 0.8 <= backoff_delay(2) <= 1.2
    assert backoff_delay(30) <= 8.0 * 1.2
    assert backoff_delay(1, retry_after=5) >= 5
