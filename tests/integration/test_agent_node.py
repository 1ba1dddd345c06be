"""The ``agent`` node's loop against the fake OpenAI server over a real socket, with real tools
(the ``http`` connector against a local HTTP server): scripted multi-step and parallel tool
calls, a failing tool, a tool timeout, bad calls from the model, a model that loops until
``max_steps``, structured final answers, redaction and capping of ``node.tool_call``, and the
offline provider."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest

from pilot.core.redaction import register_secret
from pilot.engine.errors import NodeError
from pilot.engine.nodes.agent import AgentRunner
from pilot.settings import Settings
from tests.support.echo_server import echo_server
from tests.support.fake_openai import reply, tool_call, tool_calls
from tests.support.node_ctx import make_ctx, services

RUN = AgentRunner()
SCHEMA = {"type": "object", "required": ["answer", "sources"],
          "properties": {"answer": {"type": "string"}, "sources": {"type": "integer", "minimum": 1}}}


@pytest.fixture(scope="module")
def server():
    with echo_server() as (url, app):
        yield url, app


def _ctx(fake, server_url: str, **config):
    env = {"PILOT_HTTP_ALLOWLIST": urlsplit(server_url).netloc, "PILOT_LLM_TIMEOUT_S": "10"}
    if fake is not None:
        env |= {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url}
    config = {"prompt": "Research {{ inputs.topic }}", "tools": ["tool:http"], **config}
    return make_ctx({"type": "agent", "config": config}, services(Settings.from_env(env)),
                    scope={"inputs": {"topic": "rates"}, "nodes": {}})


def _get(url: str) -> dict:
    return {"url": url, "method": "GET"}


async def test_multi_step_parallel_calls_with_a_failing_tool(fake_openai, server) -> None:
    url, _ = server
    fake_openai.script(
        tool_calls(("http", _get(f"{url}/slow?s=0.8")), ("http", _get(f"{url}/slow?s=0.8")),
                   ("http", _get(f"{url}/status/500"))),
        tool_call("http", _get(f"{url}/json")),
        reply("Done: 3 items found."),
    )
    ctx = _ctx(fake_openai, url)
    finished_at: list[float] = []
    record = ctx._emit

    async def stamped(event: str, data: dict) -> None:
        if event == "node.tool_call" and "slow" in str(data["arguments"]):
            finished_at.append(time.monotonic())
        await record(event, data)

    ctx._emit = stamped
    out = await RUN.run(ctx)
    assert out == "Done: 3 items found."
    calls = ctx.of("node.tool_call")
    assert [c["step"] for c in calls].count(1) == 3 and [c["step"] for c in calls].count(2) == 1
    slow = [c for c in calls if "slow" in c["arguments"]["url"]]
    assert all(c["result"]["body"] == {"slow": True} and c["elapsed_ms"] >= 700 for c in slow)
    # the two 0.8 s calls of one turn ran in parallel: they ended together, not 0.8 s apart
    assert len(finished_at) == 2 and abs(finished_at[1] - finished_at[0]) < 0.4
    failed = next(c for c in calls if "status/500" in c["arguments"]["url"])
    assert "500" in failed["error"] and "result" not in failed and failed["tool"] == "http" and failed["ref"] == "tool:http"
    second = next(c for c in calls if c["step"] == 2)
    assert second["result"] == {"status": 200, "body": {"ok": True, "items": [1, 2, 3]}}
    # the failure went back to the model as the tool's result, and the loop went on
    requests = fake_openai.chat_requests()
    assert len(requests) == 3 and requests[0].body["tools"][0]["function"]["name"] == "http"
    tool_messages = [m for m in requests[1].messages if m["role"] == "tool"]
    assert len(tool_messages) == 3 and any('"error"' in m["content"] and "500" in m["content"] for m in tool_messages)
    assert requests[1].messages[-4]["tool_calls"][0]["function"]["name"] == "http"
    assert ctx.usage["llm_calls"] == 3 and ctx.usage["total_tokens"] > 0 and ctx.usage["cost_usd"] > 0
    assert "".join(d["text"] for d in ctx.of("node.delta")) == out


async def test_tool_timeout_and_bad_calls_are_reported_to_the_model(fake_openai, server) -> None:
    url, _ = server
    fake_openai.script(
        tool_calls(("http", _get(f"{url}/slow?s=5")), ("nope", {}), ("http", "{not json"), ("http", {"url": 3})),
        reply("I could not get the data."),
    )
    ctx = _ctx(fake_openai, url, tool_timeout_s=0.3)
    assert await RUN.run(ctx) == "I could not get the data."
    errors = {c["call_id"]: c["error"] for c in ctx.of("node.tool_call")}
    assert len(errors) == 4
    assert errors["call_0"] == "tool 'http' timed out after 0.3s"
    assert errors["call_1"].startswith("unknown tool 'nope'; the tools are: http")
    assert "not valid JSON" in errors["call_2"]
    assert "invalid argument 'url'" in errors["call_3"]


async def test_a_model_that_loops_fails_at_max_steps(fake_openai, server) -> None:
    url, _ = server
    fake_openai.responder = lambda req: _get(f"{url}/json")  # every turn calls the tool again
    ctx = _ctx(fake_openai, url, max_steps=3)
    with pytest.raises(NodeError, match=r"did not finish within max_steps=3.*\(http\)") as info:
        await RUN.run(ctx)
    assert not info.value.retryable
    assert len(fake_openai.chat_requests()) == 3 and len(ctx.of("node.tool_call")) == 3
    assert ctx.usage["llm_calls"] == 3  # usage of every step is kept


async def test_output_schema_is_validated_and_re_asked(fake_openai, server) -> None:
    url, _ = server
    fake_openai.script(tool_call("http", _get(f"{url}/json")), reply('{"answer": "three"}'),
                       reply('{"answer": "three", "sources": 1}'))
    ctx = _ctx(fake_openai, url, output_schema=SCHEMA)
    assert await RUN.run(ctx) == {"answer": "three", "sources": 1}
    requests = fake_openai.chat_requests()
    assert "JSON Schema" in requests[0].messages[0]["content"]
    assert "sources: required property is missing" in requests[2].messages[-1]["content"]


async def test_tool_call_events_are_redacted_and_capped(fake_openai, server) -> None:
    url, _ = server
    secret = "sk-live-agentsecret-0123456789"
    register_secret(secret)
    fake_openai.script(
        tool_calls(("http", {"url": f"{url}/echo", "method": "POST", "body": {"key": secret}}),
                   ("http", _get(f"{url}/big?n=20000"))),
        reply("ok"),
    )
    ctx = _ctx(fake_openai, url)
    await RUN.run(ctx)
    calls = ctx.of("node.tool_call")
    echo = next(c for c in calls if "echo" in str(c["arguments"]))
    big = next(c for c in calls if "big" in str(c["arguments"]))
    assert secret not in json.dumps(ctx.events) and "[REDACTED]" in json.dumps(echo)
    assert isinstance(big["result"], str) and big["result"].endswith("bytes]") and "truncated" in big["result"]
    assert len(big["result"].encode()) < 4096 + 64
    tool_messages = [m["content"] for m in fake_openai.chat_requests()[1].messages if m["role"] == "tool"]
    assert secret not in "".join(tool_messages)  # nor does the model see it


async def test_offline_is_one_labelled_step(server) -> None:
    url, _ = server
    ctx = _ctx(None, url)
    out = await RUN.run(ctx)
    assert out.startswith("[offline agent]") and "Tools available: http" in out and "Research rates" in out
    assert ctx.of("node.tool_call") == [] and ctx.usage["llm_calls"] == 1 and ctx.usage["cost_usd"] == 0
    ctx = _ctx(None, url, output_schema=SCHEMA)
    value = await RUN.run(ctx)
    assert set(value) == {"answer", "sources"} and value["sources"] >= 1


async def test_unknown_tool_reference_fails_the_node(server) -> None:
    url, _ = server
    with pytest.raises(NodeError, match="'tool:nosuch' is neither a tool of this workspace"):
        await RUN.run(_ctx(None, url, tools=["tool:nosuch"]))
