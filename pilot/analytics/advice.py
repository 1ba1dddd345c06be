"""Optimisation advice for a workflow: its graph + its run statistics → suggestions, each with
the chat edit operations that apply it (:mod:`pilot.chat.ops`, checked with the chat's one
edit path, :func:`pilot.chat.edits.apply_edits`) and the saving it should bring.

Savings rest on the stored runs when there are any (measured tokens at the workspace's prices,
measured latencies); otherwise on the cost/latency estimator (:mod:`pilot.generation.estimate`,
list prices and typical latencies). Each suggestion says which (``basis``). Texts are English
and Chinese (:class:`~pilot.chat.planner_base.Note`); the caller picks one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from pilot.analytics.models import cheaper_model, light_task
from pilot.analytics.schemas import NodeStats, WorkflowStats
from pilot.chat.edits import EditError, EditOp, apply_edits
from pilot.chat.graph_ops import references
from pilot.chat.ops import AddEdge, RemoveEdge, UpdateNode
from pilot.chat.planner_base import Note
from pilot.engine.policies import policy_for
from pilot.generation.estimate import EXPECTED_LOOP_ITEMS, estimate
from pilot.llm.prices import ModelPrice, estimate_cost
from pilot.workflows.model import (
    AgentNode, ApiNode, KnowledgeNode, LlmNode, LoopNode, Node, RetryPolicy, TransformNode, WorkflowGraph, node_type,
)
from pilot.workflows.validation import iter_all_nodes, to_digraph

MIN_RUNS_RETRY = 5
RETRY_RATE = 0.2  # a step retried in at least this share of its runs is flaky
MIN_RUNS_SLOW = 3
SLOW_SHARE = 0.5  # of the critical path's p95
SLOW_MS = 1000.0
LOOP_CONCURRENCY = 4
CACHE_RATE = 0.2  # repeats of an earlier identical request in at least this share of a step's calls: worth a cache


@dataclass
class Advice:
    """One suggestion, language-neutral (see module doc)."""

    kind: str
    goal: str
    node_ids: list[str]
    message: Note
    basis: Note
    done: Note  # what applying it changes (the chat's reply)
    chat: Note | None = None  # the chat message that applies exactly ``ops``
    ops: list[EditOp] = field(default_factory=list)
    cost_usd_per_run: float | None = None
    ms_per_run: float | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{','.join(self.node_ids)}"


def _label(node: Node) -> str:
    return node.title or node.id


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"


def _est(graph: WorkflowGraph) -> tuple[float, float]:
    """(cost USD, ms) of one run by the estimator, at list prices."""
    e = estimate(graph)
    return e.cost_usd, e.duration_s * 1000


def _cheaper(graph: WorkflowGraph, stats: Mapping[str, NodeStats], prices: Mapping[str, ModelPrice] | None) -> list[Advice]:
    found = []
    for node in iter_all_nodes(graph):
        if not isinstance(node, LlmNode) or not light_task(node) or (new := cheaper_model(node.config.model)) is None:
            continue
        patch: dict = {"model": new}
        if new in node.config.fallback_models:
            patch["fallback_models"] = [m for m in node.config.fallback_models if m != new]
        ops: list[EditOp] = [UpdateNode(node_id=node.id, config=patch)]
        s = stats.get(node.id)
        if s is not None and s.runs and (s.prompt_tokens or s.completion_tokens):
            p, c = s.prompt_tokens / s.runs, s.completion_tokens / s.runs
            saving = estimate_cost(node.config.model, p, c, prices) - estimate_cost(new, p, c, prices)  # type: ignore[arg-type]
            basis = Note(f"{s.runs} measured runs: {p:,.0f} tokens in and {c:,.0f} out per run, priced at "
                         f"{node.config.model} vs {new}",
                         f"基于 {s.runs} 次实际运行：每次输入 {p:,.0f}、输出 {c:,.0f} 个 token，按 {node.config.model} 与 {new} 的价格计算")
        else:
            saving = _est(graph)[0] - _est(apply_edits(graph, ops))[0]
            basis = Note(f"the cost estimator's token allowance for this step at list prices ({node.config.model} vs {new}); "
                         "no measured runs", f"没有实际运行数据：按成本估算器对该步骤的 token 估计和标价计算（{node.config.model} 对比 {new}）")
        if saving <= 0:
            continue
        label = _label(node)
        found.append(Advice(
            "cheaper_model", "cost", [node.id],
            Note(f"'{label}' does a light task (classification, extraction or translation) on {node.config.model}; "
                 f"{new} handles it for less.", f"“{label}”执行的是轻量任务（分类、提取或翻译），却使用 {node.config.model}；换成 {new} 更省钱。"),
            basis, Note(f"switched '{label}' to {new}", f"已将“{label}”换成 {new}"),
            Note(f"Optimise: switch '{node.id}' to {new}", f"优化：把“{node.id}”换成 {new}"), ops,
            cost_usd_per_run=round(saving, 8)))
    return found


def _cache(graph: WorkflowGraph, stats: Mapping[str, NodeStats]) -> list[Advice]:
    """LLM steps that sent the very same request in several runs (see :mod:`pilot.analytics.stats`).
    The engine has no response-cache setting for a step, so this is advice only: no edit."""
    found = []
    for node in graph.nodes:
        s = stats.get(node.id)
        if not isinstance(node, LlmNode) or s is None or not s.runs or not s.repeated_calls \
                or (s.repeat_rate or 0.0) < CACHE_RATE:
            continue
        cost, ms = s.repeated_cost_usd / s.runs, s.repeated_ms / s.runs
        if cost <= 0 and ms <= 0:
            continue
        label, k, rate = _label(node), s.repeated_calls, s.repeat_rate or 0.0
        sampled_en = (f" Its temperature is {node.config.temperature:g}: a cache gives the same reply every time, "
                      "which suits a step whose input decides its answer." if node.config.temperature > 0 else "")
        sampled_zh = (f"它的 temperature 为 {node.config.temperature:g}：缓存每次返回相同的回复，适合答案由输入决定的步骤。"
                      if node.config.temperature > 0 else "")
        found.append(Advice(
            "cache", "cost", [node.id],
            Note(f"'{label}' sent the very same request (model, prompt and parameters) as an earlier run {k} times "
                 f"({rate:.0%} of its calls): a response cache would answer those without calling the model. "
                 "There is no response-cache setting for a step to switch on: put a caching proxy in front of the "
                 f"model provider, or skip the step upstream when its input has not changed.{sampled_en}",
                 f"“{label}”有 {k} 次发送了与之前的运行完全相同的请求（模型、提示词和参数都相同，占其调用的 {rate:.0%}）："
                 "响应缓存可以直接返回这些结果而无需调用模型。步骤没有可开启的响应缓存设置：可以在模型服务前加一层缓存代理，"
                 f"或在输入未变化时于上游跳过该步骤。{sampled_zh}"),
            Note(f"measured over {s.runs} runs: the {k} repeated calls cost {s.repeated_cost_usd:.6g} USD and took "
                 f"{_ms(s.repeated_ms)} in all", f"基于 {s.runs} 次实际运行：{k} 次重复调用共花费 {s.repeated_cost_usd:.6g} 美元、"
                 f"耗时 {_ms(s.repeated_ms)}"),
            Note(f"'{label}' answers repeated requests from a cache", f"“{label}”的重复请求由缓存应答"),
            cost_usd_per_run=round(cost, 8), ms_per_run=round(ms, 3)))
    return found


def _side_effect_free(node: Node) -> bool:
    """Steps that only read: their order never matters to the outside world."""
    if isinstance(node, ApiNode):
        return node.config.method in ("GET", "HEAD")
    if isinstance(node, AgentNode):
        return not node.config.tools and not node.config.agent_id
    return isinstance(node, (KnowledgeNode, LlmNode, TransformNode)) or node_type(node) == "code"


def _chains(graph: WorkflowGraph) -> list[list[str]]:
    """Runs of ≥ 2 side-effect-free steps wired one after another where none reads another's output."""
    g = to_digraph(graph)
    nodes = {n.id: n for n in graph.nodes}

    def linked(a: str, b: str) -> bool:  # a → b is the only way out of a and into b, unconditionally
        return (g.out_degree(a) == 1 and g.in_degree(b) == 1 and g.edges[a, b].get("source_handle") is None
                and _side_effect_free(nodes[a]) and _side_effect_free(nodes[b]))

    chains, seen = [], set()
    for nid in nodes:
        preds = list(g.predecessors(nid))
        if nid in seen or not _side_effect_free(nodes[nid]) or (len(preds) == 1 and linked(preds[0], nid)):
            continue
        chain = [nid]
        while g.out_degree(chain[-1]) == 1 and linked(chain[-1], nxt := next(iter(g.successors(chain[-1])))):
            chain.append(nxt)
        seen.update(chain)
        segment: list[str] = []
        for member in chain:  # a step that reads an earlier one's output starts a new segment
            data = msgspec.to_builtins(nodes[member].config)
            if any(references(data, other) for other in segment):
                chains.append(segment)
                segment = []
            segment.append(member)
        chains.append(segment)
    return [c for c in chains if len(c) >= 2]


def _parallel(graph: WorkflowGraph, stats: Mapping[str, NodeStats]) -> list[Advice]:
    found = []
    g = to_digraph(graph)
    for chain in _chains(graph):
        head, tail = chain[0], chain[-1]
        ops: list[EditOp] = []
        for prev, member in zip(chain, chain[1:]):
            ops.append(RemoveEdge(source=prev, target=member))
            ops += [AddEdge(source=p, target=member, source_handle=g.edges[p, head].get("source_handle"))
                    for p in g.predecessors(head)]
        ops += [AddEdge(source=member, target=s) for member in chain[:-1] for s in g.successors(tail)]
        p50s = [stats[n].p50_ms if n in stats else None for n in chain]
        if all(p is not None for p in p50s):
            ms = sum(p50s) - max(p50s)  # type: ignore[arg-type]
            basis = Note(f"measured p50s: {_ms(sum(p50s))} in sequence, {_ms(max(p50s))} (the slowest) in parallel",  # type: ignore[arg-type]
                         f"按实测 p50：依次运行共 {_ms(sum(p50s))}，并行时只需最慢的一步 {_ms(max(p50s))}")  # type: ignore[arg-type]
        else:
            ms = _est(graph)[1] - _est(apply_edits(graph, ops))[1]
            basis = Note("the latency estimator's typical step times (no measured runs)", "没有实际运行数据：按估算器的典型步骤耗时计算")
        if ms <= 0:
            continue
        names_en, names_zh = ", ".join(f"'{n}'" for n in chain), "、".join(f"“{n}”" for n in chain)
        found.append(Advice(
            "parallelize", "speed", chain,
            Note(f"{names_en} run one after another, but none reads another's output: they can run in parallel.",
                 f"{names_zh}依次运行，但彼此不读取对方的输出，可以并行运行。"),
            basis, Note(f"{names_en} now run in parallel", f"{names_zh}现在并行运行"),
            Note(f"Optimise: run {', '.join(chain)} in parallel", f"优化：让 {'、'.join(chain)} 并行运行"), ops,
            ms_per_run=round(ms, 3)))
    return found


def _retry(graph: WorkflowGraph, stats: Mapping[str, NodeStats]) -> list[Advice]:
    found = []
    for node in graph.nodes:
        s = stats.get(node.id)
        kind = node_type(node)
        if kind not in ("llm", "api", "tool", "knowledge", "agent", "workflow") or s is None or s.runs < MIN_RUNS_RETRY \
                or (s.retry_rate or 0) < RETRY_RATE:
            continue
        current = policy_for(kind, node.retry)
        policy = RetryPolicy(max_attempts=max(current.max_attempts, 4), initial_delay_s=max(current.initial_delay_s, 2.0),
                             backoff=max(current.backoff, 2.0), max_delay_s=max(current.max_delay_s, 30.0),
                             jitter=max(current.jitter, 0.25))
        ops: list[EditOp] = [UpdateNode(node_id=node.id, fields={"retry": msgspec.to_builtins(policy)})] if policy != current else []
        fallback = None
        if isinstance(node, (LlmNode, AgentNode)) and not node.config.fallback_models and node.config.model != "offline":
            fallback = cheaper_model(node.config.model) or ("gpt-4.1-mini" if "gpt-4o-mini" in node.config.model else "gpt-4o-mini")
            ops.append(UpdateNode(node_id=node.id, config={"fallback_models": [fallback]}))
        label, rate = _label(node), s.retry_rate or 0.0
        failed = s.runs - round((s.success_rate or 0.0) * s.runs)
        also_en = f" and falls back to {fallback} when the model keeps failing" if fallback else ""
        also_zh = f"，模型持续失败时改用 {fallback}" if fallback else ""
        found.append(Advice(
            "retry", "reliability", [node.id],
            Note(f"'{label}' needed a retry in {rate:.0%} of its {s.runs} runs and failed in {failed}: its service is flaky. "
                 f"A longer backoff with more jitter (up to {policy.max_attempts} attempts, {policy.initial_delay_s:g} s → "
                 f"{policy.max_delay_s:g} s) gives it time to recover{also_en}.",
                 f"“{label}”在 {s.runs} 次运行中有 {rate:.0%} 需要重试，{failed} 次失败：它调用的服务不稳定。更长的重试退避和更多抖动"
                 f"（最多 {policy.max_attempts} 次，{policy.initial_delay_s:g} 秒 → {policy.max_delay_s:g} 秒）能让服务有时间恢复{also_zh}。"),
            Note(f"{s.retries} extra attempts over {s.runs} measured runs", f"基于 {s.runs} 次实际运行中的 {s.retries} 次额外尝试"),
            Note(f"'{label}' now retries up to {policy.max_attempts} times with a longer backoff{also_en}",
                 f"“{label}”现在最多重试 {policy.max_attempts} 次，退避更长{also_zh}"),
            Note(f"Optimise: give '{node.id}' a longer retry backoff", f"优化：给“{node.id}”设置更长的重试退避") if ops else None,
            ops))
    return found


def _slow(graph: WorkflowGraph, stats: WorkflowStats | None) -> list[Advice]:
    path = stats.critical_path.p95 if stats is not None and stats.critical_path is not None else None
    node = next((n for n in graph.nodes if path is not None and n.id == path.slowest_node_id), None)
    if path is None or node is None or not path.total_ms:
        return []
    s = next(n for n in stats.nodes if n.node_id == node.id)  # type: ignore[union-attr]
    share, slowest = (path.slowest_ms or 0.0) / path.total_ms, path.slowest_ms or 0.0
    if s.runs < MIN_RUNS_SLOW or share < SLOW_SHARE or slowest < SLOW_MS:
        return []
    seconds = max(1, math.ceil(2 * slowest / 1000))
    ops: list[EditOp] = []
    if node.timeout_s is None and node_type(node) in ("api", "llm", "knowledge", "tool", "agent") and not (
            isinstance(node, ApiNode) and node.config.timeout_s <= seconds):
        ops = [UpdateNode(node_id=node.id, fields={"timeout_s": float(seconds)})]
    label = _label(node)
    tip_en = f"; a {seconds} s timeout (2 × p95) stops a hung call from holding the run" if ops else ""
    tip_zh = f"；设置 {seconds} 秒超时（2 × p95）可避免卡住的调用拖住整个运行" if ops else ""
    return [Advice(
        "slow_node", "speed", [node.id],
        Note(f"'{label}' is the slowest step on the critical path: p95 {_ms(slowest)} of the path's {_ms(path.total_ms)} "
             f"({share:.0%}). Speed it up at the source (a faster model or endpoint, less data){tip_en}.",
             f"“{label}”是关键路径上最慢的步骤：p95 为 {_ms(slowest)}，占整条路径 {_ms(path.total_ms)} 的 {share:.0%}。"
             f"请从源头提速（更快的模型或接口、更少的数据）{tip_zh}。"),
        Note(f"measured p95 over {s.runs} runs; a timeout bounds the slow tail, a typical run is unchanged",
             f"基于 {s.runs} 次运行的实测 p95；超时只限制慢尾，典型运行不变"),
        Note(f"'{label}' now times out after {seconds} s", f"“{label}”现在 {seconds} 秒超时"),
        Note(f"Optimise: set a {seconds} s timeout on '{node.id}'", f"优化：给“{node.id}”设置 {seconds} 秒超时") if ops else None,
        ops)]


def _loops(graph: WorkflowGraph, stats: Mapping[str, NodeStats]) -> list[Advice]:
    found = []
    for node in iter_all_nodes(graph):
        if not isinstance(node, LoopNode) or node.config.max_concurrency != 1 or node.config.max_items < 2:
            continue
        new = min(LOOP_CONCURRENCY, node.config.max_items)
        ops: list[EditOp] = [UpdateNode(node_id=node.id, config={"max_concurrency": new})]
        items = min(EXPECTED_LOOP_ITEMS, node.config.max_items)
        s = stats.get(node.id)
        if s is not None and s.p50_ms:
            ms = s.p50_ms * (1 - math.ceil(items / new) / items)
            basis = Note(f"measured p50 {_ms(s.p50_ms)} over {s.runs} runs, assuming {items} items per run",
                         f"基于 {s.runs} 次运行的实测 p50 {_ms(s.p50_ms)}，按每次 {items} 项估算")
        else:
            ms = _est(graph)[1] - _est(apply_edits(graph, ops))[1]
            basis = Note(f"the latency estimator, assuming {items} items per run (no measured runs)",
                         f"没有实际运行数据：按估算器计算，假设每次 {items} 项")
        if ms <= 0:
            continue
        label = _label(node)
        found.append(Advice(
            "loop_concurrency", "speed", [node.id],
            Note(f"'{label}' processes one item at a time (max_concurrency 1). Raising it to {new} runs items side by side; "
                 "keep 1 only if the service it calls is strictly rate-limited.",
                 f"“{label}”一次只处理一项（max_concurrency 为 1）。改为 {new} 可同时处理多项；除非所调用的服务有严格的限流，否则无需保持 1。"),
            basis, Note(f"'{label}' now processes up to {new} items at a time", f"“{label}”现在同时处理最多 {new} 项"),
            Note(f"Optimise: run up to {new} items of '{node.id}' at a time", f"优化：让“{node.id}”同时处理最多 {new} 项"), ops,
            ms_per_run=round(ms, 3)))
    return found


def advise(graph: WorkflowGraph, stats: WorkflowStats | None = None,
           prices: Mapping[str, ModelPrice] | None = None) -> list[Advice]:
    """Every suggestion for ``graph`` (``stats``: its runs' figures; ``prices``: the workspace's
    price overrides), best first: cost savings, then time savings, then the rest. A suggestion
    whose edit would not apply cleanly keeps its advice and loses its edit."""
    by_node = {n.node_id: n for n in stats.nodes if n.in_graph} if stats is not None else {}
    found = _cheaper(graph, by_node, prices) + _cache(graph, by_node) + _parallel(graph, by_node) \
        + _loops(graph, by_node) + _retry(graph, by_node) + _slow(graph, stats)
    for item in found:
        if item.ops:
            try:
                apply_edits(graph, item.ops)
            except EditError:
                item.ops, item.chat = [], None
    return sorted(found, key=lambda a: (-(a.cost_usd_per_run or 0.0), -(a.ms_per_run or 0.0)))
