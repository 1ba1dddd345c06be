"""The generation plan (``WorkflowPlan``): what the request asks the workflow to do, as data.

Both planners (offline rules, LLM through instructor) produce a plan; one pure compiler
(:mod:`pilot.generation.compiler`) turns any valid plan into a graph. A plan is a trigger plus a
list of steps; a step is a tagged union on ``kind``. Branches, parallel groups and loops hold
their **own** step lists, so "billing → finance queue, bugs → Jira" keeps each action on its
branch. Every step records ``quote``: the words of the request it came from. JSON shape::

    {"title": "Route support tickets", "language": "en",
     "trigger": {"kind": "webhook", "method": "POST"},
     "inputs": [{"name": "ticket", "type": "string"}],
     "steps": [
       {"kind": "ai", "id": "classify", "task": "classify", "categories": ["billing", "bug"],
        "quote": "route it by product area"},
       {"kind": "branch", "id": "route", "on": "classify", "field": "category",
        "cases": [{"label": "billing", "steps": [{"kind": "deliver", "id": "finance", ...}]},
                  {"label": "bug", "steps": [{"kind": "deliver", "id": "jira", "service": "jira", ...}]}],
        "otherwise": [{"kind": "deliver", "id": "inbox", "service": "email", ...}]}]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, Union

import msgspec
from msgspec import Meta, Struct, field

from pilot.workflows.model import FieldType, Trigger

StepId = Annotated[str, Meta(pattern=r"^[a-z_][a-z0-9_]{0,40}$")]
AiTask = Literal["classify", "extract", "score", "summarize", "translate", "generate", "answer", "agent", "analyze"]
SourceFrom = Literal["service", "url", "web_search", "knowledge", "file", "input"]
DeliverOp = Literal["send", "post", "append", "update", "create", "upsert"]
CompareOp = Literal["gt", "ge", "lt", "le", "eq", "ne", "contains", "truthy"]
OP_SYMBOLS: dict[str, str] = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}


class PlanField(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A named, typed value: a run input, or a field of an AI step's structured output."""

    name: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: FieldType = "string"
    description: str = ""
    enum: list[str] = []


class Comparison(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``<subject>.<field> <op> <value>``; ``subject`` is an upstream step id or ``inputs``."""

    subject: str
    field: str
    op: CompareOp
    value: str | int | float | bool | None = None  # an int stays one (5000, not 5000.0)


class _Step(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    id: StepId
    quote: str = ""  # the words of the request this step came from


class SourceStep(_Step, tag="source", kw_only=True):
    """Reads data: a named service's operation, a URL / feed, web search, a knowledge base, a file."""

    from_: SourceFrom = field(default="service", name="from")
    service: str | None = None
    operation: str = "list"
    params: dict[str, str] = {}
    url: str | None = None
    query: str | None = None


class AiStep(_Step, tag="ai", kw_only=True):
    """An LLM step. ``fields`` is its structured output (later steps and conditions use them).
    ``task: agent`` compiles to an ``agent`` node; ``tools`` are the tools/services the request
    named, referenced as ``tool:<slug>`` (:mod:`pilot.generation.storage`)."""

    task: AiTask
    instruction: str = ""
    categories: list[str] = []
    fields: list[PlanField] = []
    language: str | None = None
    tools: list[str] = []


class TransformStep(_Step, tag="transform", kw_only=True):
    """Reshapes data without an LLM. ``fields`` maps an output name to a field of the data
    (``"customer_id": "cust_id"``) or to a jinja2 expression (``"{{ item.price / 100 }}"``).
    ``map`` applies ``fields`` to each item of a list, ``filter`` keeps items where ``where``
    holds, ``aggregate`` groups by ``group_by`` (a field) and computes ``aggregates``
    (``{"total": "sum:amount", "n": "count", "rows": "first"}``); ``dedupe_by`` keeps the first
    item per value of a field."""

    mode: Literal["set", "map", "filter", "aggregate"] = "set"
    fields: dict[str, str] = {}
    where: str | None = None
    group_by: str | None = None
    aggregates: dict[str, str] = {}
    dedupe_by: str | None = None


class SubflowStep(_Step, tag="workflow", kw_only=True):
    """Runs another saved workflow of the workspace (by name or id) with mapped ``inputs``."""

    workflow: Annotated[str, Meta(min_length=1, max_length=120)]
    inputs: dict[str, str] = {}


class WaitStep(_Step, tag="wait", kw_only=True):
    """Pauses: for ``duration_s``, until ``until``, or until a person approves (``approval``).
    ``offset_s`` moves ``until`` ("an hour before the appointment": -3600 from its start)."""

    duration_s: int | float | None = None  # an int stays one
    until: str | None = None
    offset_s: int | float | None = None
    approval: str | None = None
    approver: str | None = None


class DeliverStep(_Step, tag="deliver", kw_only=True):
    """A side effect: send / post / append / update / create / upsert to a service's target."""

    service: str
    operation: DeliverOp = "send"
    target: str | None = None
    content: str | None = None  # the step whose output is delivered (default: the latest one)
    text: str | None = None  # the message itself, as the request quotes it ("post: \"Submit your timesheets!\"")
    # the service's own operation when the request names one it has ("refund", "close", "comment"…;
    # pilot.generation.entities.SERVICE_ACTIONS); the compiler calls its endpoint instead of the write
    action: str | None = None


class RespondStep(_Step, tag="respond", kw_only=True):
    """The answer a webhook caller gets (the output node)."""

    content: str | None = None


class Case(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One branch: taken when ``when`` holds (default: the tested field equals ``label``)."""

    label: str
    when: Comparison | None = None
    steps: list[Step] = []


class BranchStep(_Step, tag="branch", kw_only=True):
    """If / else if / else, or an N-way switch on ``on``.``field``. ``otherwise`` is the else
    branch's own steps; ``None`` means the else branch simply goes on."""

    on: str = "inputs"
    field: str = "category"
    cases: list[Case]
    otherwise: list[Step] | None = None


class ParallelStep(_Step, tag="parallel", kw_only=True):
    """Branches that run side by side, then a merge (``merge`` = how, e.g. "combine")."""

    branches: list[list[Step]]
    merge: str = "combine"


class LoopStep(_Step, tag="loop", kw_only=True):
    """Runs ``steps`` per item (or per batch of ``batch_size`` items) of ``over``'s output."""

    over: str = "inputs"
    batch_size: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    steps: list[Step] = []


Step = Union[SourceStep, AiStep, TransformStep, SubflowStep, WaitStep, DeliverStep, RespondStep, BranchStep, ParallelStep, LoopStep]
STEP_KINDS: tuple[str, ...] = tuple(c.__struct_config__.tag for c in Step.__args__)  # type: ignore[attr-defined]


class WorkflowPlan(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole request as a plan (see the module docstring)."""

    title: str = ""
    language: Literal["en", "zh"] = "en"
    trigger: Trigger
    inputs: list[PlanField] = []
    steps: list[Step] = []


plan_decoder = msgspec.json.Decoder(WorkflowPlan)
plan_encoder = msgspec.json.Encoder()


def walk(steps: list[Step]):
    """Every step, depth first, nested ones included."""
    for step in steps:
        yield step
        if isinstance(step, BranchStep):
            for case in step.cases:
                yield from walk(case.steps)
            yield from walk(step.otherwise or [])
        elif isinstance(step, ParallelStep):
            for branch in step.branches:
                yield from walk(branch)
        elif isinstance(step, LoopStep):
            yield from walk(step.steps)


def with_children(step: Step, fn: Callable[[list[Step]], list[Step]]) -> Step:
    """``step`` with ``fn`` applied to each list of steps it holds (cases, else, branches, body)."""
    if isinstance(step, BranchStep):
        return msgspec.structs.replace(step, cases=[msgspec.structs.replace(c, steps=fn(c.steps)) for c in step.cases],
                                       otherwise=None if step.otherwise is None else fn(step.otherwise))
    if isinstance(step, ParallelStep):
        return msgspec.structs.replace(step, branches=[fn(b) for b in step.branches])
    if isinstance(step, LoopStep):
        return msgspec.structs.replace(step, steps=fn(step.steps))
    return step


def map_steps(steps: list[Step], fn: Callable[[Step], Step]) -> list[Step]:
    """``fn`` applied to every step, nested ones included (children first)."""
    return [fn(with_children(s, lambda inner: map_steps(inner, fn))) for s in steps]


def without_step(steps: list[Step], step_id: str) -> list[Step]:
    """``steps`` without the step ``step_id`` (at any depth; what it contains goes with it)."""
    return [with_children(s, lambda inner: without_step(inner, step_id)) for s in steps if s.id != step_id]


def plan_from_builtins(data: object) -> WorkflowPlan:
    """Decode a plan from parsed JSON (raises ``msgspec.ValidationError`` naming the field)."""
    return msgspec.convert(data, WorkflowPlan, strict=False)
