"""API shapes of workflow analytics: run statistics and optimisation suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from msgspec import Struct

from pilot.chat.ops import EditOp

SuggestionKind = Literal["cheaper_model", "parallelize", "retry", "slow_node", "loop_concurrency", "cache"]
Goal = Literal["cost", "speed", "reliability"]


class NodeStats(Struct, kw_only=True):
    """One top-level node over the period's runs. A loop's figures include its body's calls;
    ``runs`` counts the times it executed (skipped branches are ``skipped``)."""

    node_id: str
    node_type: str
    title: str = ""
    in_graph: bool = True  # false: the node ran in an older version and is gone from the head
    runs: int = 0
    skipped: int = 0
    success_rate: float | None = None  # succeeded without an absorbed error / runs
    p50_ms: float | None = None
    p95_ms: float | None = None
    retry_rate: float | None = None  # share of runs that needed more than one attempt
    retries: int = 0  # extra attempts, summed
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_share: float | None = None  # of the workflow's LLM cost in the period (None: it cost nothing)
    # ``llm`` nodes: succeeded runs that sent the very request (model, messages, parameters: the
    # hash in ``usage.prompt_hashes``) another run in the period sent too, the first of each left
    # out: a response cache would have served them. Their measured cost and latency.
    repeated_calls: int = 0
    repeat_rate: float | None = None  # of the succeeded runs with a recorded request hash (None: none)
    repeated_cost_usd: float = 0.0
    repeated_ms: float = 0.0


class CriticalPath(Struct, kw_only=True):
    """The path through the workflow's DAG whose nodes' latencies (``basis``) sum highest."""

    basis: Literal["p50", "p95"]
    node_ids: list[str]
    total_ms: float
    slowest_node_id: str | None = None
    slowest_ms: float | None = None


class CriticalPaths(Struct, kw_only=True):
    p50: CriticalPath
    p95: CriticalPath


class WorkflowStats(Struct, kw_only=True):
    """``GET /api/workflows/{id}/stats``: runs created in ``[since, until)`` (dry runs excluded)."""

    workflow_id: str
    since: datetime
    until: datetime
    runs: int
    by_status: dict[str, int]
    success_rate: float | None  # succeeded / ended (succeeded + failed + cancelled)
    p50_ms: float | None  # run duration (started → finished) of ended runs, nearest rank
    p95_ms: float | None
    llm_calls: int
    cost_usd: float
    nodes: list[NodeStats]
    critical_path: CriticalPaths | None  # None until a node has run


class Saving(Struct, kw_only=True):
    """What applying a suggestion is expected to save per run, and what the figure rests on."""

    cost_usd_per_run: float | None = None
    ms_per_run: float | None = None
    basis: str


class ChatEdit(Struct, kw_only=True):
    """How to apply a suggestion: ``message`` posted to the workflow's chat applies exactly
    ``ops`` (the chat's edit operations, :mod:`pilot.chat.ops`)."""

    message: str
    ops: list[EditOp]


class Suggestion(Struct, kw_only=True):
    id: str  # "<kind>:<node ids>", stable while the suggestion holds
    kind: SuggestionKind
    goal: Goal
    node_ids: list[str]
    message: str
    saving: Saving
    edit: ChatEdit | None = None  # None: advice only, no edit applies it


class SkippedCheck(Struct, kw_only=True):
    """A check that could not be made, and why."""

    kind: SuggestionKind
    reason: str


class Suggestions(Struct, kw_only=True):
    """``GET /api/workflows/{id}/suggestions``: the best first (cost savings, then time savings)."""

    workflow_id: str
    since: datetime
    until: datetime
    language: Literal["en", "zh"]
    runs: int  # runs the figures come from
    items: list[Suggestion]
    skipped: list[SkippedCheck] = []
