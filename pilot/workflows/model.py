"""The workflow domain model as msgspec Structs.

A node is a tagged union on ``type`` (the eight core types of DESIGN.md plus the v2 types
``transform``, ``code``, ``agent``, ``workflow`` and ``wait``), each
variant carrying its own typed ``config``. Policies (retry, timeout, on_error) are immutable
values on the node. JSON shape of a node::

    {"id": "summarise", "type": "llm", "title": "Summarise",
     "config": {"model": "gpt-4o-mini", "prompt": "..."},
     "position": {"x": 0, "y": 0}, "retry": {...}, "timeout_s": 30, "on_error": "fail"}
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct, field

CORE_NODE_TYPES: tuple[str, ...] = ("input", "llm", "condition", "loop", "api", "knowledge", "tool", "output")
V2_NODE_TYPES: tuple[str, ...] = ("transform", "code", "agent", "workflow", "wait")
NODE_TYPES: tuple[str, ...] = CORE_NODE_TYPES + V2_NODE_TYPES

NodeId = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="identifier usable in jinja2: nodes.<id>.output")]
PositiveSeconds = Annotated[float, Meta(gt=0, le=86_400)]

WorkflowStatus = Literal["draft", "published"]
OnError = Literal["fail", "continue", "default"]
FieldType = Literal["string", "number", "integer", "boolean", "object", "array"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class Position(Struct, frozen=True, forbid_unknown_fields=True):
    x: float = 0.0
    y: float = 0.0


class RetryPolicy(Struct, frozen=True, forbid_unknown_fields=True):
    """Exponential backoff: delay_n = min(initial_delay_s * backoff**(n-1), max_delay_s) ± jitter."""

    max_attempts: Annotated[int, Meta(ge=1, le=20)] = 3
    initial_delay_s: Annotated[float, Meta(ge=0, le=600)] = 0.5
    backoff: Annotated[float, Meta(ge=1, le=10)] = 2.0
    max_delay_s: Annotated[float, Meta(ge=0, le=3600)] = 30.0
    jitter: Annotated[float, Meta(ge=0, le=1, description="fraction of the delay randomised")] = 0.1


# ---------------------------------------------------------------- node configs


class InputField(Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: FieldType = "string"
    required: bool = True
    description: str = ""
    default: Any = None


# ---------------------------------------------------------------- triggers (how a run starts)


class _Trigger(Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", kw_only=True):
    pass


class ManualTrigger(_Trigger, tag="manual"):
    """Started by hand (API, panel or CLI)."""


class ScheduleTrigger(_Trigger, tag="schedule"):
    """A 5-field cron expression evaluated in an IANA timezone."""

    cron: Annotated[str, Meta(min_length=9, max_length=120)]
    timezone: str = "UTC"


class WebhookTrigger(_Trigger, tag="webhook"):
    """An inbound HTTP call to ``/hooks/{hook_id}``; its payload fields are the input node's ``fields``.

    ``signature``: callers sign the raw body with the trigger's secret (``X-Pilot-Signature:
    sha256=<hex HMAC>``) unless ``none``. ``sync`` waits for the run's outputs up to
    ``sync_timeout_s``, then answers 202 like ``async``."""

    method: Literal["POST", "GET"] = "POST"
    path: str | None = None
    response_mode: Literal["async", "sync"] = "async"
    signature: Literal["hmac-sha256", "none"] = "hmac-sha256"
    max_body_bytes: Annotated[int, Meta(ge=1, le=1_048_576)] = 262_144
    rate_per_minute: Annotated[int, Meta(ge=1, le=6000)] = 60
    sync_timeout_s: Annotated[float, Meta(gt=0, le=120)] = 30.0


class ChatTrigger(_Trigger, tag="chat"):
    """Each chat message (``POST /hooks/{hook_id} {"message", …}``) starts a run with the message
    as ``inputs.message``; the answer is the run's outputs (it waits up to 60 s)."""

    rate_per_minute: Annotated[int, Meta(ge=1, le=6000)] = 60


class FormTrigger(_Trigger, tag="form"):
    """A submitted form (``GET /hooks/{hook_id}/form`` describes it); its fields are the input
    node's ``fields``."""

    title: str = ""
    rate_per_minute: Annotated[int, Meta(ge=1, le=6000)] = 30


class AppEventTrigger(_Trigger, tag="app_event"):
    """An event in a named service ("new row in Google Sheets", "new issue in GitHub")."""

    service: Annotated[str, Meta(min_length=1, max_length=64)]
    event: Annotated[str, Meta(min_length=1, max_length=120)]


Trigger = Union[ManualTrigger, ScheduleTrigger, WebhookTrigger, ChatTrigger, FormTrigger, AppEventTrigger]
TRIGGER_KINDS: tuple[str, ...] = tuple(cls.__struct_config__.tag for cls in Trigger.__args__)  # type: ignore[attr-defined]


class InputConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """The run's inputs; ``trigger`` says how a run starts (absent = manual)."""

    fields: list[InputField] = []
    trigger: Trigger | None = None


class LlmConfig(Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str
    model: str = "gpt-4o-mini"
    system: str = ""
    temperature: Annotated[float, Meta(ge=0, le=2)] = 0.7
    max_tokens: Annotated[int, Meta(ge=1, le=200_000)] | None = None
    output_schema: dict[str, Any] | None = None
    fallback_models: list[str] = []


class ConditionCase(Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
    when: Annotated[str, Meta(min_length=1)]


class ConditionConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """First case whose ``when`` is truthy wins; otherwise the ``else`` handle is taken."""

    cases: list[ConditionCase]
    else_: str = field(default="else", name="else")


class SubGraph(Struct, frozen=True, forbid_unknown_fields=True):
    nodes: list[Node] = []
    edges: list[Edge] = []


class LoopConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """Runs ``body`` once per item; inside it ``{{ item }}`` and ``{{ loop.index }}`` are bound."""

    items: Annotated[str, Meta(min_length=1)]
    body: SubGraph
    item_var: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")] = "item"
    max_concurrency: Annotated[int, Meta(ge=1, le=64)] = 4
    max_items: Annotated[int, Meta(ge=1, le=10_000)] = 100


class ApiConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """An HTTP call. ``service``/``operation`` name what it talks to when it is a named service
    ("stripe" / "list", "jira" / "create"): the panel shows it and credentials attach to it."""

    url: Annotated[str, Meta(min_length=1)]
    method: HttpMethod = "GET"
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    body: str | None = None
    timeout_s: PositiveSeconds = 30.0
    service: Annotated[str, Meta(max_length=64)] | None = None
    operation: Annotated[str, Meta(max_length=64)] | None = None


class KnowledgeConfig(Struct, frozen=True, forbid_unknown_fields=True):
    knowledge_base: Annotated[str, Meta(min_length=1)]
    query: Annotated[str, Meta(min_length=1)]
    top_k: Annotated[int, Meta(ge=1, le=50)] = 4


class ToolConfig(Struct, frozen=True, forbid_unknown_fields=True):
    tool: Annotated[str, Meta(min_length=1)]
    arguments: dict[str, Any] = {}


class OutputConfig(Struct, frozen=True, forbid_unknown_fields=True):
    outputs: dict[str, str]


# ---------------------------------------------------------------- v2 node configs

VarName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class Aggregate(Struct, frozen=True, forbid_unknown_fields=True):
    """One aggregated field of a ``transform`` in ``aggregate`` mode: ``op`` over ``of`` (an
    expression evaluated per item; not needed for ``count``)."""

    op: Literal["count", "sum", "avg", "min", "max", "list", "first", "last"]
    of: str | None = None


class TransformConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """Reshapes data without an LLM; every value is an expression (sandboxed jinja2) whose typed
    value is kept (a number stays a number).

    - ``set`` (default): output = ``{name: value}`` for ``fields``.
    - ``map``: ``items`` is an expression yielding a list; output = one ``fields`` dict per item
      (the item bound as ``item_var``).
    - ``filter``: output = the items for which ``where`` is truthy.
    - ``aggregate``: output = ``aggregates`` over the items, or with ``group_by`` a list of
      ``{"key": group key, **aggregates}`` per group, in first-seen order.
    """

    fields: dict[str, str] = {}
    mode: Literal["set", "map", "filter", "aggregate"] = "set"
    items: str | None = None
    item_var: VarName = "item"
    where: str | None = None
    group_by: str | None = None
    aggregates: dict[str, Aggregate] = {}


class CodeConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """User code run in an isolated sandbox. Python: define ``main(inputs)`` returning a JSON
    value (or assign ``result``). ``inputs`` are expressions evaluated before the call."""

    code: Annotated[str, Meta(min_length=1, max_length=100_000)]
    language: Literal["python", "javascript"] = "python"
    inputs: dict[str, str] = {}
    cpu_time_s: Annotated[float, Meta(gt=0, le=60)] = 5.0
    memory_mb: Annotated[int, Meta(ge=16, le=2048)] = 256
    max_output_bytes: Annotated[int, Meta(ge=1024, le=16_777_216)] = 1_048_576
    # Wall-clock limit (the sandbox process is killed); None = 2 × cpu_time_s + 1.
    wall_time_s: Annotated[float, Meta(gt=0, le=300)] | None = None


class AgentConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """An LLM that calls tools in a loop until it answers (or ``max_steps`` model turns).

    ``tools`` are references: ``tool:<tool instance id or connector>``, ``mcp:<server id>`` (all
    its tools) or ``mcp:<server id>/<tool>``, ``table:<table id>``, ``workflow:<workflow id>``,
    ``api:<name>`` (an HTTP call definition). ``agent_id`` takes model, system prompt and tools
    from a saved agent definition; fields set here override it."""

    prompt: Annotated[str, Meta(min_length=1)]
    model: str = "gpt-4o-mini"
    system: str = ""
    tools: list[str] = []
    max_steps: Annotated[int, Meta(ge=1, le=50)] = 8
    tool_timeout_s: PositiveSeconds = 30.0
    temperature: Annotated[float, Meta(ge=0, le=2)] = 0.2
    output_schema: dict[str, Any] | None = None
    agent_id: Annotated[str, Meta(max_length=64)] | None = None
    fallback_models: list[str] = []


class WorkflowCallConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """Runs another workflow of the same workspace: a pinned ``version`` or (absent) the
    published head, with ``inputs`` mapped by expression. Output = the child's outputs."""

    workflow_id: Annotated[str, Meta(min_length=1, max_length=64)]
    version: Annotated[int, Meta(ge=1)] | None = None
    inputs: dict[str, str] = {}


class Approval(Struct, frozen=True, forbid_unknown_fields=True):
    """Wait for a person: ``POST /api/executions/{id}/approvals/{node_id}`` with ``{approved, comment}``."""

    prompt: Annotated[str, Meta(min_length=1, max_length=4000)]
    approvers: list[str] = []
    timeout_s: Annotated[float, Meta(gt=0, le=31_536_000)] | None = None


class WaitConfig(Struct, frozen=True, forbid_unknown_fields=True):
    """A durable pause; exactly one of ``duration_s``, ``until`` (an expression yielding an
    ISO-8601 timestamp) or ``approval``. ``offset_s`` (with ``until`` only) moves the due time:
    ``-3600`` waits until an hour before it ("remind them an hour before the appointment", where
    ``until`` is the appointment's start). A waiting run holds no worker."""

    duration_s: Annotated[float, Meta(gt=0, le=31_536_000)] | None = None
    until: str | None = None
    approval: Approval | None = None
    offset_s: Annotated[float, Meta(ge=-31_536_000, le=31_536_000)] | None = None


# ---------------------------------------------------------------- nodes


class _NodeBase(Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    id: NodeId
    title: str = ""
    description: str = ""
    position: Position = Position()
    retry: RetryPolicy | None = None
    timeout_s: PositiveSeconds | None = None
    on_error: OnError = "fail"
    default_output: Any = None


class InputNode(_NodeBase, tag="input"):
    config: InputConfig = field(default_factory=InputConfig)  # a factory: OpenAPI generation hashes defaults


class LlmNode(_NodeBase, tag="llm"):
    config: LlmConfig


class ConditionNode(_NodeBase, tag="condition"):
    config: ConditionConfig


class LoopNode(_NodeBase, tag="loop"):
    config: LoopConfig


class ApiNode(_NodeBase, tag="api"):
    config: ApiConfig


class KnowledgeNode(_NodeBase, tag="knowledge"):
    config: KnowledgeConfig


class ToolNode(_NodeBase, tag="tool"):
    config: ToolConfig


class OutputNode(_NodeBase, tag="output"):
    config: OutputConfig


class TransformNode(_NodeBase, tag="transform"):
    config: TransformConfig


class CodeNode(_NodeBase, tag="code"):
    config: CodeConfig


class AgentNode(_NodeBase, tag="agent"):
    config: AgentConfig


class WorkflowNode(_NodeBase, tag="workflow"):
    config: WorkflowCallConfig


class WaitNode(_NodeBase, tag="wait"):
    config: WaitConfig


Node = Union[
    InputNode, LlmNode, ConditionNode, LoopNode, ApiNode, KnowledgeNode, ToolNode, OutputNode,
    TransformNode, CodeNode, AgentNode, WorkflowNode, WaitNode,
]
NODE_CLASSES: dict[str, type] = {cls.__struct_config__.tag: cls for cls in Node.__args__}  # type: ignore[attr-defined]


class Edge(Struct, frozen=True, forbid_unknown_fields=True):
    id: Annotated[str, Meta(min_length=1, max_length=200)]
    source: str
    target: str
    source_handle: str | None = None


class WorkflowSettings(Struct, frozen=True, forbid_unknown_fields=True):
    """Run-wide policies. ``schedule`` is a cron expression when the request was periodic."""

    deadline_s: PositiveSeconds = 3600.0
    max_concurrency: Annotated[int, Meta(ge=1, le=256)] = 16
    schedule: str | None = None


class WorkflowGraph(Struct, frozen=True, forbid_unknown_fields=True):
    """The editable part of a workflow: what generation produces and validation checks."""

    nodes: list[Node]
    edges: list[Edge] = []
    settings: WorkflowSettings = WorkflowSettings()


class Workflow(Struct, frozen=True, kw_only=True):
    """A stored workflow as the API returns it (DESIGN.md ``workflow`` object)."""

    id: str
    name: str
    description: str = ""
    template_id: str | None = None
    version: int = 1
    status: WorkflowStatus = "draft"
    nodes: list[Node]
    edges: list[Edge] = []
    settings: WorkflowSettings = WorkflowSettings()
    created_at: datetime
    updated_at: datetime

    def graph(self) -> WorkflowGraph:
        return WorkflowGraph(nodes=self.nodes, edges=self.edges, settings=self.settings)


graph_decoder = msgspec.json.Decoder(WorkflowGraph)
node_decoder = msgspec.json.Decoder(Node)


def node_type(node: Node) -> str:
    """The canonical ``type`` string of a node."""
    return node.__struct_config__.tag  # type: ignore[return-value]


def graph_from_builtins(data: Any) -> WorkflowGraph:
    """Decode a dict (e.g. parsed YAML or a JSON column) into a WorkflowGraph, strictly."""
    return msgspec.convert(data, WorkflowGraph, strict=False)
