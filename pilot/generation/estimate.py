"""Cost/latency estimate of a workflow from its graph and the configured models' prices.

Per LLM node: prompt tokens = its rendered-template size (system + prompt) plus an allowance
for the data it receives, completion tokens = ``max_tokens`` or a default. Loop bodies count
``EXPECTED_LOOP_ITEMS`` times (bounded by ``max_items``). Duration follows the graph's
critical path (parallel branches overlap), with typical per-type latencies.
"""

from __future__ import annotations

import networkx as nx
from msgspec import Struct

from pilot.llm.prices import count_tokens, estimate_cost
from pilot.workflows.model import LlmNode, LoopNode, WorkflowGraph, node_type

EXPECTED_LOOP_ITEMS = 5
CONTEXT_TOKENS = 800  # the data an LLM node typically receives from upstream
DEFAULT_COMPLETION_TOKENS = 500
TYPE_SECONDS = {"input": 0.0, "output": 0.0, "condition": 0.01, "api": 1.0, "knowledge": 0.3, "tool": 0.8}
LLM_SECONDS_BASE = 1.0
LLM_SECONDS_PER_TOKEN = 0.015  # ~65 tokens/s streaming


class Estimate(Struct, kw_only=True):
    llm_calls: int
    cost_usd: float
    duration_s: float


def _llm_cost(node: LlmNode, offline: bool) -> tuple[float, float]:
    cfg = node.config
    completion = cfg.max_tokens or DEFAULT_COMPLETION_TOKENS
    prompt = count_tokens(cfg.system) + count_tokens(cfg.prompt) + CONTEXT_TOKENS
    cost = 0.0 if offline else estimate_cost(cfg.model, prompt, completion)
    return cost, LLM_SECONDS_BASE + completion * LLM_SECONDS_PER_TOKEN


def _walk(graph, offline: bool) -> tuple[int, float, float]:
    """(llm calls, cost, critical-path seconds) of one graph level."""
    calls, cost = 0, 0.0
    seconds: dict[str, float] = {}
    for node in graph.nodes:
        kind = node_type(node)
        if isinstance(node, LlmNode):
            c, s = _llm_cost(node, offline)
            calls, cost, seconds[node.id] = calls + 1, cost + c, s
        elif isinstance(node, LoopNode):
            items = min(EXPECTED_LOOP_ITEMS, node.config.max_items)
            b_calls, b_cost, b_secs = _walk(node.config.body, offline)
            waves = -(-items // max(1, node.config.max_concurrency))
            calls, cost, seconds[node.id] = calls + b_calls * items, cost + b_cost * items, b_secs * waves
        else:
            seconds[node.id] = TYPE_SECONDS.get(kind, 0.1)
    g = nx.DiGraph()
    g.add_nodes_from(seconds)
    g.add_edges_from((e.source, e.target) for e in graph.edges if e.source in seconds and e.target in seconds)
    finish: dict[str, float] = {}
    for nid in nx.topological_sort(g):
        finish[nid] = seconds[nid] + max((finish[p] for p in g.predecessors(nid)), default=0.0)
    return calls, cost, max(finish.values(), default=0.0)


def estimate(graph: WorkflowGraph, settings=None) -> Estimate:
    """Expected LLM calls, USD cost and wall-clock seconds of one run of ``graph``.

    With no API key configured (``settings.llm.enabled`` false) runs use the offline provider,
    which costs nothing; the call count and duration are still those of a real run."""
    offline = settings is not None and not settings.llm.enabled
    calls, cost, secs = _walk(graph, offline)
    return Estimate(llm_calls=calls, cost_usd=round(cost, 6), duration_s=round(secs, 2))
