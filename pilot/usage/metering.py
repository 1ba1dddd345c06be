"""The usage of one model call, as ``llm`` and ``agent`` nodes record it (``ctx.add_usage``).

One place decides what a call costs and how it is recorded:

- cost: the workspace's price overrides (``PUT /api/usage/prices``) over the list prices of
  :mod:`pilot.llm.prices`; the ``offline`` provider's calls are priced as the model ``offline``;
- the figures ``llm_calls, prompt_tokens, completion_tokens, total_tokens, cost_usd``, plus the
  same figures per model under ``models`` and, for agent nodes, per agent under ``agents``
  (``merge_usage`` sums nested maps, so a loop node's and a run's usage keep them too);
- for ``llm`` nodes, ``prompt_hashes``: ``{hash: calls}``, the hash of each request sent
  (:func:`request_hash`), so analytics can tell identical calls apart (a response cache would
  serve the repeats). Never the prompt itself: it may hold secrets or personal data;
- the process's LLM metrics, and the soft-limit ``run.warning`` of :mod:`pilot.usage.budget`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from pilot.llm.prices import OFFLINE_MODEL, estimate_cost, normalize_model
from pilot.observability import metrics
from pilot.usage.budget import warn_run
from pilot.usage.config import config_with


def agent_key(node: Any) -> str:
    """How an agent node is grouped in usage: its saved agent definition, else ``node:<node id>``."""
    agent_id = getattr(getattr(node, "config", None), "agent_id", None)
    return agent_id or f"node:{node.id}"


REQUEST_HASH_CHARS = 24  # 96 bits of sha256: no accidental collision between a node's requests


def request_hash(model: str, messages: Sequence[Any], **params: Any) -> str:
    """A stable hash (hex) of one model request: the model, every message (role and rendered
    content) and the sampling parameters that change the reply. Equal hashes: identical requests."""
    body = msgspec.json.encode({"model": model, "messages": messages, "params": params}, order="sorted")
    return hashlib.sha256(body).hexdigest()[:REQUEST_HASH_CHARS]


async def model_call_usage(
    ctx: Any, model: str, prompt_tokens: int, completion_tokens: int, total_tokens: int, *,
    offline: bool, agent: str | None = None, prompt_hash: str | None = None,
) -> dict[str, Any]:
    """The usage of one completed call of ``model`` by the node of ``ctx`` (see module doc;
    ``prompt_hash``: the call's :func:`request_hash`)."""
    name = OFFLINE_MODEL if offline else normalize_model(model)
    config = await config_with(ctx.services.sessions, ctx.workspace_id)
    cost = estimate_cost(name, prompt_tokens, completion_tokens, config.prices or None)
    figures = {"llm_calls": 1, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
               "total_tokens": total_tokens, "cost_usd": cost}
    usage: dict[str, Any] = {**figures, "models": {name: dict(figures)}}
    if agent is not None:
        usage["agents"] = {agent: dict(figures)}
    if prompt_hash is not None:
        usage["prompt_hashes"] = {prompt_hash: 1}
    metrics.llm_call(name, prompt_tokens, completion_tokens, cost)
    if config.has_limits:
        await warn_run(ctx, config)
    return usage
