"""The agent loop: an LLM that calls tools until it answers.

One *step* is one model turn through the openai-compatible provider (``stream_chat(tools=…)``):

- its text deltas go out as ``node.delta {node_id, text}``; its usage is added with
  ``ctx.add_usage`` (every step counts: ``llm_calls`` is the number of turns);
- when the model asks for tools, every call of the turn runs **in parallel**
  (``asyncio.gather``), each under ``tool_timeout_s``; each finished call emits
  ``node.tool_call {node_id, tool, call_id, step, arguments, result | error, elapsed_ms}`` with
  arguments and result redacted (:mod:`pilot.core.redaction`) and capped at
  ``PILOT_AGENT_EVENT_MAX_BYTES``. The results go back to the model as ``tool`` messages
  (redacted, capped at ``PILOT_AGENT_RESULT_MAX_CHARS``) and the next step starts;
- a tool that raises, times out, is unknown or gets arguments that are not a JSON object does
  not fail the node: its error is the tool's result (``{"error": …}``) and the loop continues;
- a turn without tool calls is the final answer. With ``output_schema`` it must be JSON valid
  against the schema; an invalid answer is sent back once per remaining step with the problems.

``max_steps``: when the model is still calling tools after ``max_steps`` turns, the node **fails**
(non-retryable ``NodeError`` naming the limit and the last tools called) rather than returning a
half-finished answer: a workflow that wants to go on anyway sets ``on_error: continue|default``.

Model fallback follows the ``llm`` node: a dead model (404/400/403/422/5xx) moves to the next of
``fallback_models`` for the rest of the loop (``node.fallback``); other LLM errors fail the node
with their retryability, and the engine's retry policy re-runs the whole loop.

Offline (model ``offline`` or no API key): one deterministic, labelled step — the offline
provider answers ``[offline agent] …`` naming the tools it would have had and calls none; with
``output_schema`` the answer is a deterministic schema-valid instance.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from pilot.agents.toolset import AgentTool
from pilot.core.failures import Failure
from pilot.core.redaction import clip, redact, redact_value
from pilot.engine.errors import NodeError
from pilot.engine.nodes.llm import is_dead_model
from pilot.engine.nodes.llm_json import offline_instance, parse_json_reply, schema_instruction, validate, wants_json_object
from pilot.llm import OFFLINE_MODEL, LLMError, LLMUsage
from pilot.llm.schemas import LLMToolCalls, ToolCallRequest
from pilot.usage.metering import agent_key, model_call_usage

_encode = msgspec.json.Encoder(enc_hook=str).encode


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """What one agent run does (the node's config merged with its agent definition, rendered)."""

    model: str
    prompt: str
    system: str = ""
    tools: tuple[AgentTool, ...] = ()
    max_steps: int = 8
    tool_timeout_s: float = 30.0
    temperature: float = 0.2
    output_schema: dict[str, Any] | None = None
    fallback_models: tuple[str, ...] = ()


def capped(value: Any, limit: int) -> Any:
    """``value`` redacted; if its JSON is over ``limit`` bytes, a clipped JSON text instead
    (ending ``… [truncated: N bytes]``) — redacted *before* it is cut, so no half secret survives."""
    value = redact_value(value)
    encoded = _encode(value)
    if len(encoded) <= limit:
        return value
    return clip(encoded.decode("utf-8", "replace"), limit) + f"… [truncated: {len(encoded)} bytes]"


def _error_text(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, (Failure, NodeError)) else f"{type(exc).__name__}: {exc}"
    return redact(str(message)) or type(exc).__name__


class _BadCall(Exception):
    """The model's call cannot be made (unknown tool, arguments that are not a JSON object)."""


def _parse_arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise _BadCall(f"the arguments are not valid JSON ({exc.msg}); send a JSON object") from None
    if not isinstance(value, dict):
        raise _BadCall("the arguments must be a JSON object")
    return value


class AgentLoop:
    """One run of the loop for one node attempt (see the module docstring)."""

    def __init__(self, ctx: Any, provider: Any, spec: AgentSpec) -> None:
        self.ctx = ctx
        self.provider = provider
        self.spec = spec
        self.models = list(dict.fromkeys([spec.model, *spec.fallback_models]))
        self.current = 0
        self.by_name = {tool.name: tool for tool in spec.tools}
        self.wire_tools = [
            {"type": "function", "function": {"name": t.name, "description": t.description[:1024], "parameters": t.parameters}}
            for t in spec.tools
        ]
        engine = ctx.services.settings.engine
        self.event_cap = engine.agent_event_max_bytes
        self.result_cap = engine.agent_result_max_chars

    def _offline(self, model: str) -> bool:
        return model == OFFLINE_MODEL or getattr(self.provider, "name", "") == "offline"

    async def run(self) -> Any:
        spec = self.spec
        system = spec.system
        if spec.output_schema:
            system = (system + "\n\n" if system else "") + schema_instruction(spec.output_schema)
        messages: list[dict[str, Any]] = ([{"role": "system", "content": system}] if system else [])
        messages.append({"role": "user", "content": spec.prompt})
        last_calls: list[str] = []
        for step in range(1, spec.max_steps + 1):
            text, calls, offline = await self._turn(messages, step)
            if not calls:
                if spec.output_schema is None:
                    return text
                if offline:
                    return offline_instance(spec.output_schema, self.ctx.node.id)
                value, problems = _structured(text, spec.output_schema)
                if not problems:
                    return value
                if step == spec.max_steps:
                    raise NodeError(f"agent's final answer does not match output_schema after {step} step(s): "
                                    f"{'; '.join(problems[:5])}", retryable=True)
                messages.append({"role": "assistant", "content": text})
                messages.append({"role": "user", "content": "Your final answer is not valid: " + "; ".join(problems[:5])
                                 + ". Answer again with the JSON value only."})
                continue
            messages.append({"role": "assistant", "content": text or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]})
            results = await asyncio.gather(*(self._call(call, step) for call in calls))
            messages.extend({"role": "tool", "tool_call_id": call.id, "content": content} for call, content in zip(calls, results))
            last_calls = [call.name for call in calls]
        raise NodeError(
            f"agent did not finish within max_steps={spec.max_steps}: the model was still calling tools "
            f"({', '.join(last_calls)}) at the last step; raise config.max_steps or simplify the task",
            retryable=False,
        )

    async def _turn(self, messages: list[dict[str, Any]], step: int) -> tuple[str, list[ToolCallRequest], bool]:
        """One model turn, moving on to the next fallback model while the current one is dead."""
        while True:
            model = self.models[self.current]
            try:
                text, calls = await self._stream(model, messages)
                return text, calls, self._offline(model)
            except LLMError as exc:
                if self.current + 1 < len(self.models) and is_dead_model(exc):
                    self.current += 1
                    await self.ctx.emit("node.fallback", {"node_id": self.ctx.node.id, "from_model": model,
                                                          "to_model": self.models[self.current]})
                    continue
                raise NodeError(f"model {model!r} failed at step {step}: {exc.message}",
                                retryable=exc.retryable, retry_after=exc.retry_after) from exc

    async def _stream(self, model: str, messages: list[dict[str, Any]]) -> tuple[str, list[ToolCallRequest]]:
        offline = self._offline(model)
        schema = self.spec.output_schema
        response_format = None
        if schema and not self.wire_tools and not offline and wants_json_object(schema):
            response_format = {"type": "json_object"}
        stream = self.provider.stream_chat(
            model=model, messages=messages, temperature=self.spec.temperature, response_format=response_format,
            # the offline provider answers "[offline agent] …" whenever tools is a list, even empty
            tools=self.wire_tools if offline else (self.wire_tools or None),
        )
        parts: list[str] = []
        calls: list[ToolCallRequest] = []
        async for item in stream:
            if isinstance(item, LLMUsage):
                self.ctx.add_usage(await model_call_usage(
                    self.ctx, model, item.prompt_tokens, item.completion_tokens, item.total_tokens, offline=offline,
                    agent=agent_key(self.ctx.node),
                ))
            elif isinstance(item, LLMToolCalls):
                calls = list(item.calls)
            elif item:
                parts.append(item)
                await self.ctx.emit("node.delta", {"node_id": self.ctx.node.id, "text": item})
        return "".join(parts), calls

    async def _call(self, call: ToolCallRequest, step: int) -> str:
        """Run one tool call; returns the ``tool`` message content (never raises but on cancel)."""
        started = time.monotonic()
        tool = self.by_name.get(call.name)
        arguments: Any = call.arguments
        result: Any = None
        error: str | None = None
        try:
            if tool is None:
                raise _BadCall(f"unknown tool {call.name!r}; the tools are: {', '.join(self.by_name) or 'none'}")
            arguments = _parse_arguments(call.arguments)
            async with asyncio.timeout(self.spec.tool_timeout_s):
                result = await tool.call(arguments)
        except TimeoutError:
            error = f"tool {call.name!r} timed out after {self.spec.tool_timeout_s:g}s"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any tool failure is reported to the model
            error = str(exc) if isinstance(exc, _BadCall) else _error_text(exc)
        elapsed_ms = round((time.monotonic() - started) * 1000, 3)
        event: dict[str, Any] = {"node_id": self.ctx.node.id, "tool": call.name, "call_id": call.id, "step": step,
                                 "ref": tool.ref if tool is not None else None,
                                 "arguments": capped(arguments, self.event_cap), "elapsed_ms": elapsed_ms}
        if error is not None:
            event["error"] = redact(error)
        else:
            event["result"] = capped(result, self.event_cap)
        await self.ctx.emit("node.tool_call", event)
        payload = {"error": redact(error)} if error is not None else redact_value(result)
        text = _encode(payload).decode("utf-8", "replace")
        return text if len(text) <= self.result_cap else clip(text, self.result_cap) + f"… [truncated: {len(text)} chars]"


def _structured(text: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    try:
        value = parse_json_reply(text)
    except ValueError:
        return None, [f"it is not JSON: {text[:200]!r}"]
    return value, validate(value, schema)


async def run_agent(ctx: Any, provider: Any, spec: AgentSpec) -> Any:
    """Run the loop for ``ctx``'s node; the final answer (text, or the schema-valid value)."""
    return await AgentLoop(ctx, provider, spec).run()
