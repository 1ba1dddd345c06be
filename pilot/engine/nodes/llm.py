"""The ``llm`` node: a streamed chat completion with usage accounting and model fallback.

- ``system`` and ``prompt`` are jinja2 templates rendered in the sandbox.
- Each text delta is emitted as ``node.delta {node_id, text}``; usage (tokens, estimated cost, per
  model, and a hash of the request — never its text: :mod:`pilot.usage.metering`) is added with
  ``ctx.add_usage`` for every model call that completed.
- ``output_schema``: the model is asked for JSON (``response_format=json_object`` when the schema
  is an object), the reply is parsed and validated; a reply that is not valid JSON for the schema
  fails the node (retryable: sampling again may fix it; the node's retry policy bounds it).
- Provider: model ``"offline"`` or no API key → the offline provider, whose text says
  ``[offline]``; with an ``output_schema`` it returns a deterministic schema-valid value so
  offline runs still flow through conditions and outputs.

Fallback semantics (ordered ``fallback_models``), *within one attempt*:
the node moves to the next model, emitting ``node.fallback {node_id, from_model, to_model}``, when
the current model is unusable: the provider answered 404/400/403/422 about it (model not found,
not allowed, bad model parameters) or failed with a 5xx (the model's one attempt; SDK retries are
off). It does **not** fall back on 429, timeouts or connection errors: those concern the account or
the network, not the model, so the error goes to the engine whose retry policy waits (honouring
Retry-After) and retries the node from the primary model. When the last model fails, its error is
raised with its own retryability. A model that already streamed text and then fails mid-stream is
treated the same way; clients reset a node's text on ``node.fallback`` (and on ``node.retry``).
"""

from __future__ import annotations

from typing import Any

from pilot.engine.errors import NodeError
from pilot.engine.nodes.llm_json import (
    offline_instance,
    parse_json_reply,
    schema_instruction,
    validate,
    wants_json_object,
)
from pilot.engine.nodes.rendering import render_field
from pilot.llm import OFFLINE_MODEL, ChatMessage, LLMError, LLMUsage, OfflineProvider
from pilot.usage.metering import model_call_usage, request_hash
from pilot.workflows.model import LlmConfig

DEAD_MODEL_STATUSES = frozenset({400, 403, 404, 422})


def is_dead_model(exc: LLMError) -> bool:
    """The failure concerns this model (try the next one), not the account or the network."""
    status = exc.status
    return status is not None and (status in DEAD_MODEL_STATUSES or status >= 500)


def _response_format(schema: dict[str, Any] | None, offline: bool) -> dict[str, Any] | None:
    """JSON mode for object schemas online; the offline provider fills a json_schema itself."""
    if not schema:
        return None
    if offline:
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    return {"type": "json_object"} if wants_json_object(schema) else None


class LlmRunner:
    """Runs ``llm`` nodes with ``ctx.services.llm`` (see the module docstring for fallback semantics)."""

    node_type = "llm"

    def __init__(self) -> None:
        self._offline = OfflineProvider()

    async def run(self, ctx) -> Any:
        config: LlmConfig = ctx.node.config
        system = await render_field(config.system, ctx.scope, "system") if config.system else ""
        prompt = await render_field(config.prompt, ctx.scope, "prompt")
        schema = config.output_schema
        if schema:
            system = (system + "\n\n" if system else "") + schema_instruction(schema)
        messages = ([ChatMessage(role="system", content=system)] if system else []) + [
            ChatMessage(role="user", content=prompt)
        ]
        # services.llm is pilot.llm.build_provider(...): offline without a key, and routing the
        # model name "offline" to the offline provider when a key is set.
        provider = ctx.services.llm or self._offline
        models = list(dict.fromkeys([config.model, *config.fallback_models]))
        for index, model in enumerate(models):
            offline = model == OFFLINE_MODEL or getattr(provider, "name", "") == "offline"
            try:
                text = await self._stream(ctx, provider, model, messages, config, schema, offline)
            except LLMError as exc:
                if index + 1 < len(models) and is_dead_model(exc):
                    await ctx.emit(
                        "node.fallback", {"node_id": ctx.node.id, "from_model": model, "to_model": models[index + 1]}
                    )
                    continue
                raise NodeError(
                    f"model {model!r} failed: {exc.message}", retryable=exc.retryable, retry_after=exc.retry_after
                ) from exc
            if not schema:
                return text
            if offline:  # the offline provider's JSON is schema-shaped; make sure it validates
                try:
                    return self._structured(text, schema, model)
                except NodeError:
                    return offline_instance(schema, ctx.node.id)
            return self._structured(text, schema, model)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _stream(self, ctx, provider, model: str, messages, config: LlmConfig, schema, offline: bool) -> str:
        parts: list[str] = []
        usage: LLMUsage | None = None
        params: dict[str, Any] = {"temperature": config.temperature, "max_tokens": config.max_tokens,
                                  "response_format": _response_format(schema, offline)}
        stream = provider.stream_chat(model=model, messages=messages, **params)
        async for item in stream:
            if isinstance(item, LLMUsage):
                usage = item
            elif item:
                parts.append(item)
                await ctx.emit("node.delta", {"node_id": ctx.node.id, "text": item})
        if usage is not None:
            ctx.add_usage(await model_call_usage(
                ctx, model, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, offline=offline,
                prompt_hash=request_hash(model, messages, **params),
            ))
        return "".join(parts)

    @staticmethod
    def _structured(text: str, schema: dict[str, Any], model: str) -> Any:
        try:
            value = parse_json_reply(text)
        except ValueError as exc:
            raise NodeError(f"model {model!r} did not return JSON for output_schema: {text[:200]!r}", retryable=True) from exc
        problems = validate(value, schema)
        if problems:
            raise NodeError(
                f"model {model!r} returned JSON that does not match output_schema: {'; '.join(problems[:5])}",
                retryable=True,
            )
        return value
