"""Structs of the template library: what a ``templates/<id>.yaml`` file holds and what the API returns.

A template file is decoded into :class:`TemplateSource` (the graph still raw, because it holds
``[[ params.x ]]`` placeholders that may stand for numbers or lists); the catalog renders it with
the parameters' defaults into a validated :class:`Template` whose ``graph`` is a real
:class:`~pilot.workflows.model.WorkflowGraph`.

A template may also carry a ``plan``: its job as a :class:`~pilot.generation.plan.WorkflowPlan`
(the generation IR, with the same ``[[ params.x ]]`` parameters). It is the *recipe* the
generator draws on (:mod:`pilot.generation.recipes`): prompts, output fields and the sub-graph
for the job, without default deliveries (the request adds those).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from pilot.generation.plan import WorkflowPlan
from pilot.workflows.model import WorkflowGraph

TemplateId = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
ParamName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
NonEmpty = Annotated[str, Meta(min_length=1)]
ParamType = Literal["string", "integer", "number", "boolean", "array"]


class LocalizedText(Struct, frozen=True, forbid_unknown_fields=True):
    """The same text in English and Chinese."""

    en: NonEmpty
    zh: NonEmpty


class Examples(Struct, frozen=True, forbid_unknown_fields=True):
    """Example requests a user might type for this template (they feed the offline analyzer)."""

    en: list[NonEmpty]
    zh: list[NonEmpty]


class TemplateParameter(Struct, frozen=True, forbid_unknown_fields=True):
    """An instantiation-time knob, referenced in the graph as ``[[ params.<name> ]]``.

    ``array`` parameters are lists of strings (e.g. classification categories). ``choices``, when
    given, is the closed set of allowed values (strings only); ``minimum``/``maximum`` bound
    numbers."""

    name: ParamName
    type: ParamType
    default: Any
    description: LocalizedText
    choices: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None


class TemplateSource(Struct, frozen=True, forbid_unknown_fields=True):
    """A template file as written: the graph is raw data with ``[[ ]]`` / ``[% %]`` parameters."""

    id: TemplateId
    name: LocalizedText
    description: LocalizedText
    tags: list[NonEmpty]
    examples: Examples
    parameters: list[TemplateParameter]
    graph: dict[str, Any]
    plan: dict[str, Any] | None = None  # the recipe: a WorkflowPlan, raw (holds ``[[ ]]`` parameters)


class Template(Struct, frozen=True):
    """A loaded template; ``graph`` (and ``plan``, the recipe) rendered with the default parameters
    and validated (the plan decodes and compiles)."""

    id: str
    name: LocalizedText
    description: LocalizedText
    tags: list[str]
    examples: Examples
    parameters: list[TemplateParameter]
    graph: WorkflowGraph
    plan: WorkflowPlan | None = None


class TemplateSummary(Struct, frozen=True):
    """A template in list responses: no graph, but what it is made of."""

    id: str
    name: LocalizedText
    description: LocalizedText
    tags: list[str]
    node_types: list[str]
    node_count: int
    parameters: list[str]


class TemplateList(Struct, frozen=True):
    items: list[TemplateSummary]
    total: int
