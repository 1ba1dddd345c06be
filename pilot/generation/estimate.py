"""Cost/latency estimate of a workflow from its graph and the configured models' prices.

Per LLM node: prompt tokens = its rendered-template size (system + prompt) plus an allowance
for the data it receives, completion tokens = ``max_tokens`` or a default. Loop bodies count
``EXPECTED_LOOP_ITEMS`` times (bounded by ``max_items``). Duration follows the graph's
critical path (parallel branches overlap), with typical per-type latencies.

The v2 types:

- ``transform`` and ``code``: no model call, small fixed seconds (``TYPE_SECONDS``; a code step
  includes its sandbox start).
- ``agent``: ``AGENT_EXPECTED_TURNS`` model turns (``min(3, max_steps)``), each an LLM call priced
  at the agent's ``model``: its system + prompt + the context allowance, plus ``TOOL_RESULT_TOKENS``
  more per earlier turn (the tool results it has read); each turn but the last also waits for a
  tool call (``AGENT_TOOL_SECONDS``). An agent without tools answers in one turn.
- ``workflow``: the child's estimate when :func:`estimate` gets a ``resolve`` callable that returns
  the child's graph (followed ``MAX_CHILD_DEPTH`` levels deep, a workflow already on the call path
  counts as unknown); otherwise — the child cannot be read without I/O — no LLM calls and
  ``SUBWORKFLOW_SECONDS``.
- ``wait``: ``duration_s`` adds its wall-clock seconds. An approval or an ``until`` time adds 0
  seconds (how long a person or a date takes is unknown); an approval sets ``waits_for_approval``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from msgspec import Struct

from pilot.llm.prices import count_tokens, estimate_cost
from pilot.workflows.model import AgentNode, LlmNode, LoopNode, WaitNode, WorkflowGraph, WorkflowNode, node_type
from pilot.workflows.order import LevelOrder

EXPECTED_LOOP_ITEMS = 5
CONTEXT_TOKENS = 800  # the data an LLM node typically receives from upstream
DEFAULT_COMPLETION_TOKENS = 500
TYPE_SECONDS = {"input": 0.0, "output": 0.0, "condition": 0.01, "api": 1.0, "knowledge": 0.3, "tool": 0.8,
                "transform": 0.01, "code": 0.2}
LLM_SECONDS_BASE = 1.0
LLM_SECONDS_PER_TOKEN = 0.015  # ~65 tokens/s streaming
AGENT_EXPECTED_TURNS = 3  # model turns an agent typically takes (capped by its max_steps)
AGENT_COMPLETION_TOKENS = 300  # per turn: a tool call or the answer
TOOL_RESULT_TOKENS = 400  # what each tool result adds to the next turn's prompt
AGENT_TOOL_SECONDS = 1.0  # one tool call between two turns
SUBWORKFLOW_SECONDS = 5.0  # a child workflow the estimate cannot read
MAX_CHILD_DEPTH = 3

#: ``(workflow_id, version or None) → the graph that call runs``, or None when unknown.
Resolver = Callable[[str, "int | None"], "WorkflowGraph | None"]


class Estimate(Struct, kw_only=True, omit_defaults=True):
    llm_calls: int
    cost_usd: float
    duration_s: float
    waits_for_approval: bool = False  # a run pauses for a person: duration_s excludes that wait


@dataclass
class _Total:
    calls: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    approval: bool = False


def _llm_cost(node: LlmNode, offline: bool) -> tuple[float, float]:
    cfg = node.config
    completion = cfg.max_tokens or DEFAULT_COMPLETION_TOKENS
    prompt = count_tokens(cfg.system) + count_tokens(cfg.prompt) + CONTEXT_TOKENS
    cost = 0.0 if offline else estimate_cost(cfg.model, prompt, completion)
    return cost, LLM_SECONDS_BASE + completion * LLM_SECONDS_PER_TOKEN


def agent_turns(node: AgentNode) -> int:
    """The model turns an agent is expected to take: ``min(AGENT_EXPECTED_TURNS, max_steps)``, one without tools."""
    cfg = node.config
    return 1 if not cfg.tools and not cfg.agent_id else min(AGENT_EXPECTED_TURNS, cfg.max_steps)


def _agent_cost(node: AgentNode, offline: bool) -> tuple[int, float, float]:
    cfg = node.config
    turns = agent_turns(node)
    base = count_tokens(cfg.system) + count_tokens(cfg.prompt) + CONTEXT_TOKENS
    cost = 0.0 if offline else sum(estimate_cost(cfg.model, base + i * TOOL_RESULT_TOKENS, AGENT_COMPLETION_TOKENS)
                                   for i in range(turns))
    seconds = turns * (LLM_SECONDS_BASE + AGENT_COMPLETION_TOKENS * LLM_SECONDS_PER_TOKEN) + (turns - 1) * AGENT_TOOL_SECONDS
    return turns, cost, seconds


def _walk(graph, offline: bool, resolve: Resolver | None, path: tuple[str, ...]) -> _Total:
    """The total of one graph level: LLM calls and cost summed, seconds along the critical path."""
    total = _Total()
    seconds: dict[str, float] = {}
    for node in graph.nodes:
        kind = node_type(node)
        if isinstance(node, LlmNode):
            c, s = _llm_cost(node, offline)
            total.calls, total.cost, seconds[node.id] = total.calls + 1, total.cost + c, s
        elif isinstance(node, AgentNode):
            n, c, seconds[node.id] = _agent_cost(node, offline)
            total.calls, total.cost = total.calls + n, total.cost + c
        elif isinstance(node, LoopNode):
            items = min(EXPECTED_LOOP_ITEMS, node.config.max_items)
            body = _walk(node.config.body, offline, resolve, path)
            waves = -(-items // max(1, node.config.max_concurrency))
            total.calls, total.cost, seconds[node.id] = total.calls + body.calls * items, total.cost + body.cost * items, body.seconds * waves
            total.approval = total.approval or body.approval
        elif isinstance(node, WorkflowNode):
            child = _child(node, offline, resolve, path)
            total.calls, total.cost, seconds[node.id] = total.calls + child.calls, total.cost + child.cost, child.seconds
            total.approval = total.approval or child.approval
        elif isinstance(node, WaitNode):
            seconds[node.id] = node.config.duration_s or 0.0
            total.approval = total.approval or node.config.approval is not None
        else:
            seconds[node.id] = TYPE_SECONDS.get(kind, 0.1)
    order = LevelOrder(seconds, ((e.source, e.target) for e in graph.edges))
    finish: dict[str, float] = {}
    for nid in order.topological() or seconds:  # (a cycle: graph order, what is known of the paths)
        finish[nid] = seconds[nid] + max((finish.get(p, 0.0) for p in order.pred[nid]), default=0.0)
    total.seconds = max(finish.values(), default=0.0)
    return total


def _child(node: WorkflowNode, offline: bool, resolve: Resolver | None, path: tuple[str, ...]) -> _Total:
    cfg = node.config
    graph = None
    if resolve is not None and cfg.workflow_id not in path and len(path) < MAX_CHILD_DEPTH:
        try:
            graph = resolve(cfg.workflow_id, cfg.version)
        except Exception:  # noqa: BLE001 - an estimate never fails on a child it cannot read
            graph = None
    if graph is None:
        return _Total(seconds=SUBWORKFLOW_SECONDS)
    return _walk(graph, offline, resolve, (*path, cfg.workflow_id))


def estimate(graph: WorkflowGraph, settings=None, *, resolve: Resolver | None = None, offline: bool | None = None) -> Estimate:
    """Expected LLM calls, USD cost and wall-clock seconds of one run of ``graph``.

    With no API key configured (``settings.llm.enabled`` false) runs use the offline provider,
    which costs nothing; the call count and duration are still those of a real run. ``resolve``
    gives a ``workflow`` step's child graph (else the child counts ``SUBWORKFLOW_SECONDS``);
    ``offline`` says so without the settings (a generation process has none)."""
    if offline is None:
        offline = settings is not None and not settings.llm.enabled
    total = _walk(graph, offline, resolve, ())
    return Estimate(llm_calls=total.calls, cost_usd=round(total.cost, 6), duration_s=round(total.seconds, 2),
                    waits_for_approval=total.approval)
