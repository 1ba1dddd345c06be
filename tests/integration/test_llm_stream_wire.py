"""OpenAIProvider's own SSE reading against hand-written streams over a real socket.

The fake OpenAI server (tests/support/fake_openai.py) speaks well-formed streams; these are the
wire details it does not vary: CRLF line endings and comments, a server without usage, an error
object mid-stream, a body left open after ``[DONE]``, and connection reuse between completions.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pilot.llm import ChatMessage, LLMError, LLMUsage, OpenAIProvider
from pilot.settings import LLMSettings
from tests.support.servers import serve_in_thread

MESSAGES = [ChatMessage("user", "hi")]


def _data(obj: object, newline: str = "\n") -> str:
    return f"data: {json.dumps(obj)}{newline}{newline}"


def _text(piece: str) -> dict:
    return {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}
STREAMS = {  # model -> what the server sends (then it ends the body, unless the model says otherwise)
    "crlf": [": OPENROUTER PROCESSING\r\n\r\n", _data(_text("one "), "\r\n"), "event: chunk\r\n",
             _data(_text("two"), "\r\n"), _data(USAGE, "\r\n"), "data: [DONE]\r\n\r\n"],
    "no-usage": [_data(_text("three words here")), "data: [DONE]\n\n"],
    "error": [_data(_text("partial ")), _data({"error": {"message": "upstream overloaded", "code": 502}})],
    "open-after-done": [_data(_text("done")), _data(USAGE), "data: [DONE]\n\n"],
    "plain": [_data(_text("ok")), _data(USAGE), "data: [DONE]\n\n"],
}


class WireServer:
    """Serves STREAMS by model and records each request's client address (host, port)."""

    def __init__(self) -> None:
        self.clients: list[tuple[str, int]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> StreamingResponse:
        model = (await request.json())["model"]
        self.clients.append(tuple(request.client))

        async def body():
            for part in STREAMS[model]:
                yield part
                await asyncio.sleep(0)
            if model == "open-after-done":
                await asyncio.sleep(30)  # a proxy that keeps the response open after [DONE]

        return StreamingResponse(body(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def wire():
    server = WireServer()
    with serve_in_thread(server.app) as url:
        yield server, f"{url}/v1"


async def collect(provider: OpenAIProvider, model: str) -> tuple[list[str], LLMUsage]:
    deltas: list[str] = []
    usage = None
    async for item in provider.stream_chat(model=model, messages=MESSAGES):
        if isinstance(item, LLMUsage):
            usage = item
        else:
            deltas.append(item)
    assert usage is not None
    return deltas, usage


def provider_for(url: str) -> OpenAIProvider:
    return OpenAIProvider(LLMSettings(api_key="sk-wire", base_url=url, timeout_s=30))


async def test_crlf_comments_and_event_fields_are_read(wire):
    _, url = wire
    deltas, usage = await collect(provider_for(url), "crlf")
    assert deltas == ["one ", "two"]
    assert usage == LLMUsage(4, 2, 6)


async def test_server_without_usage_gets_an_estimate(wire):
    _, url = wire
    deltas, usage = await collect(provider_for(url), "no-usage")
    assert deltas == ["three words here"]
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_error_object_mid_stream_is_a_non_retryable_llm_error_after_the_partial_text(wire):
    _, url = wire
    received: list[str] = []
    with pytest.raises(LLMError) as info:
        async for item in provider_for(url).stream_chat(model="error", messages=MESSAGES):
            received.append(item)
    assert received == ["partial "]
    assert "upstream overloaded" in info.value.message and not info.value.retryable
    assert info.value.model == "error"


async def test_completions_reuse_one_connection(wire):
    server, url = wire
    provider = provider_for(url)
    before = len(server.clients)
    for _ in range(3):
        assert (await collect(provider, "plain"))[0] == ["ok"]
    # The body is read to its end after [DONE], so the pooled connection is kept: no new TCP
    # (and, against a real endpoint, TLS) handshake per completion.
    assert len(set(server.clients[before:])) == 1


async def test_a_body_left_open_after_done_does_not_hold_the_completion(wire):
    _, url = wire
    provider = provider_for(url)
    started = time.monotonic()
    deltas, usage = await collect(provider, "open-after-done")
    assert deltas == ["done"] and usage == LLMUsage(4, 2, 6)
    assert time.monotonic() - started < 10  # well before the 30 s read timeout / server sleep
    assert (await collect(provider, "plain"))[0] == ["ok"]  # the next call gets a working connection
