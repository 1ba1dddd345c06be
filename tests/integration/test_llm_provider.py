"""OpenAIProvider against the fake OpenAI server over a real socket (real openai SDK)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from pilot.llm import ChatMessage, LLMError, LLMUsage, OfflineProvider, OpenAIProvider, build_provider
from pilot.llm.factory import RoutingProvider
from pilot.settings import LLMSettings
from tests.support.fake_openai import fail, hang, latency, malformed, reply


def llm_settings(fake, **overrides) -> LLMSettings:
    return LLMSettings(api_key="sk-test", base_url=fake.base_url, timeout_s=overrides.pop("timeout_s", 5.0),
                       **overrides)


async def collect(provider, **kwargs) -> tuple[list[str], LLMUsage]:
    deltas: list[str] = []
    usage = None
    async for item in provider.stream_chat(**kwargs):
        if isinstance(item, LLMUsage):
            assert usage is None, "usage must come exactly once"
            usage = item
        else:
            assert usage is None, "usage must come last"
            deltas.append(item)
    assert usage is not None
    return deltas, usage


MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", "say hello")]


async def test_streams_deltas_and_server_usage(fake_openai):
    fake_openai.script(reply("Hello there, how are you today?"), model="gpt-4o-mini")
    provider = OpenAIProvider(llm_settings(fake_openai))
    deltas, usage = await collect(provider, model="gpt-4o-mini", messages=MESSAGES, temperature=0.2,
                                  max_tokens=50)
    assert "".join(deltas) == "Hello there, how are you today?"
    assert len(deltas) >= 5  # streamed word by word, not in one piece
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    [request] = fake_openai.chat_requests()
    assert request.model == "gpt-4o-mini"
    assert request.stream and request.body["stream_options"] == {"include_usage": True}
    assert request.body["temperature"] == 0.2 and request.body["max_tokens"] == 50
    assert request.messages == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hello"}]
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_default_reply_echoes_and_dict_messages_work(fake_openai):
    provider = OpenAIProvider(llm_settings(fake_openai))
    deltas, _ = await collect(provider, model="any-model", messages=[{"role": "user", "content": "ping 42"}])
    assert "".join(deltas) == "Echo: ping 42"


async def test_429_is_retryable_with_retry_after(fake_openai):
    fake_openai.script(fail(429, retry_after=7))
    provider = OpenAIProvider(llm_settings(fake_openai))
    with pytest.raises(LLMError) as info:
        await collect(provider, model="gpt-4o-mini", messages=MESSAGES)
    err = info.value
    assert err.retryable and err.status == 429 and err.retry_after == 7.0
    assert len(fake_openai.chat_requests()) == 1  # SDK retries are off: the engine owns retries


async def test_retry_after_ms_header_preferred(fake_openai):
    fake_openai.script(fail(503, headers={"retry-after-ms": "250", "retry-after": "9"}))
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(llm_settings(fake_openai)), model="m", messages=MESSAGES)
    assert info.value.retryable and info.value.status == 503 and info.value.retry_after == 0.25


async def test_500_is_retryable(fake_openai):
    fake_openai.script(fail(500))
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(llm_settings(fake_openai)), model="m", messages=MESSAGES)
    assert info.value.retryable and info.value.status == 500 and info.value.retry_after is None
    assert "500" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 422])
async def test_client_errors_are_not_retryable(fake_openai, status):
    fake_openai.script(fail(status))
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(llm_settings(fake_openai)), model="m", messages=MESSAGES)
    assert not info.value.retryable and info.value.status == status


async def test_unknown_model_is_404_not_retryable(fake_openai):
    fake_openai.missing_models = {"gpt-9"}
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(llm_settings(fake_openai)), model="gpt-9", messages=MESSAGES)
    err = info.value
    assert err.status == 404 and not err.retryable and err.code == "model_not_found" and err.model == "gpt-9"
    assert "gpt-9" in err.message


async def test_timeout_is_retryable_and_prompt(fake_openai):
    fake_openai.script(hang(10))
    provider = OpenAIProvider(llm_settings(fake_openai, timeout_s=0.4))
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        await collect(provider, model="m", messages=MESSAGES)
    assert info.value.retryable and info.value.status is None and info.value.code == "timeout"
    assert time.monotonic() - started < 3


async def test_stream_stalling_mid_way_times_out_after_partial_output(fake_openai):
    fake_openai.script(reply("one two three four five", stall_after=2))
    provider = OpenAIProvider(llm_settings(fake_openai, timeout_s=0.4))
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        async for item in provider.stream_chat(model="m", messages=MESSAGES):
            received.append(item)
    assert received == ["one ", "two "]
    assert info.value.retryable and info.value.code == "timeout"
    assert time.monotonic() - started < 3


async def test_connection_refused_is_retryable():
    from tests.support.servers import free_port

    settings = LLMSettings(api_key="k", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=2)
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(settings), model="m", messages=MESSAGES)
    assert info.value.retryable and info.value.code == "connection"


async def test_broken_sse_stream_is_retryable_error(fake_openai):
    fake_openai.script(malformed())
    with pytest.raises(LLMError) as info:
        await collect(OpenAIProvider(llm_settings(fake_openai)), model="m", messages=MESSAGES)
    assert info.value.retryable


async def test_model_queues_are_independent_and_latency_applies(fake_openai):
    fake_openai.script(latency(300), reply("slow"), model="slow-model")
    fake_openai.script(reply("fast"), model="fast-model")
    provider = OpenAIProvider(llm_settings(fake_openai))

    async def timed(model: str) -> tuple[str, float]:
        started = time.monotonic()
        deltas, _ = await collect(provider, model=model, messages=MESSAGES)
        return "".join(deltas), time.monotonic() - started

    (slow, slow_s), (fast, fast_s) = await asyncio.gather(timed("slow-model"), timed("fast-model"))
    assert (slow, fast) == ("slow", "fast")
    assert slow_s >= 0.3 and fast_s < 0.3


async def test_shared_client_is_reused(fake_openai):
    settings = llm_settings(fake_openai)
    assert OpenAIProvider(settings).client is OpenAIProvider(settings).client


async def test_build_provider_chooses_by_key_and_offline_model(fake_openai):
    assert isinstance(build_provider(LLMSettings()), OfflineProvider)
    routed = build_provider(llm_settings(fake_openai))
    assert isinstance(routed, RoutingProvider)
    deltas, usage = await collect(routed, model="offline", messages=MESSAGES)
    assert "".join(deltas).startswith("[offline]") and usage.completion_tokens > 0
    assert fake_openai.chat_requests() == []  # "offline" never reaches the server
    deltas, _ = await collect(routed, model="gpt-4o-mini", messages=MESSAGES)
    assert "".join(deltas) == "Echo: say hello"


async def test_control_endpoints_drive_the_server_from_another_client(fake_openai):
    root = fake_openai.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root) as http:
        r = await http.post("/_control/script", json={"model": "*", "actions": [
            {"kind": "fail", "status": 502}, {"kind": "reply", "text": "after"}]})
        assert r.json() == {"queued": 2}
        models = (await http.get("/v1/models")).json()
        assert "gpt-4o-mini" in [m["id"] for m in models["data"]]
    provider = OpenAIProvider(llm_settings(fake_openai))
    with pytest.raises(LLMError):
        await collect(provider, model="m", messages=MESSAGES)
    deltas, _ = await collect(provider, model="m", messages=MESSAGES)
    assert "".join(deltas) == "after"
    async with httpx.AsyncClient(base_url=root) as http:
        assert len((await http.get("/_control/requests")).json()["requests"]) == 2
        await http.post("/_control/reset")
    assert fake_openai.requests == []
