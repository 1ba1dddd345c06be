"""API Structs of reusable agent definitions (``/api/agents``).

An agent definition holds what an ``agent`` node would otherwise repeat: model, system prompt,
tools (references, see :mod:`pilot.agents.toolset`), ``max_steps`` and the other loop settings.
Nodes refer to it with ``config.agent_id`` (``<id>`` = the current version, ``<id>@<n>`` = a
pinned version).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S", description="non-blank, at most 200 characters")]
Description = Annotated[str, Meta(max_length=10_000)]
ToolRef = Annotated[str, Meta(min_length=1, max_length=300, description="tool:<id|name>, mcp:<server>[/<tool>], table:<id>, workflow:<id>, api:<name>")]
Model = Annotated[str, Meta(min_length=1, max_length=200)]
SystemPrompt = Annotated[str, Meta(max_length=100_000)]
Steps = Annotated[int, Meta(ge=1, le=50)]
Seconds = Annotated[float, Meta(gt=0, le=86_400)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Tools = Annotated[list[ToolRef], Meta(max_length=100)]
Models = Annotated[list[Model], Meta(max_length=10)]

# The fields of a definition, in the order they are stored in ``agents.config``.
CONFIG_FIELDS: tuple[str, ...] = ("model", "system", "tools", "max_steps", "tool_timeout_s", "temperature",
                                  "output_schema", "fallback_models")


class AgentCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/agents``: a new definition (version 1)."""

    name: Name
    description: Description = ""
    model: Model = "gpt-4o-mini"
    system: SystemPrompt = ""
    tools: Tools = []
    max_steps: Steps = 8
    tool_timeout_s: Seconds = 30.0
    temperature: Temperature = 0.2
    output_schema: dict[str, Any] | None = None
    fallback_models: Models = []


class AgentUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /api/agents/{id}``: fields left out keep their value; any change makes a new version.
    ``base_version`` makes it conditional (409 when the agent has moved on)."""

    name: Name | None = None
    description: Description | None = None
    model: Model | None = None
    system: SystemPrompt | None = None
    tools: Tools | None = None
    max_steps: Steps | None = None
    tool_timeout_s: Seconds | None = None
    temperature: Temperature | None = None
    output_schema: dict[str, Any] | None = None
    fallback_models: Models | None = None
    base_version: Annotated[int, Meta(ge=1)] | None = None


class Agent(Struct, frozen=True, kw_only=True):
    """A definition's current version."""

    id: str
    name: str
    description: str
    version: int
    model: str
    system: str
    tools: list[str]
    max_steps: int
    tool_timeout_s: float
    temperature: float
    output_schema: dict[str, Any] | None
    fallback_models: list[str]
    created_at: datetime
    updated_at: datetime


class AgentPage(Struct, frozen=True):
    items: list[Agent]
    total: int
    limit: int
    offset: int


class AgentVersion(Struct, frozen=True, kw_only=True):
    """One stored version of a definition (immutable)."""

    agent_id: str
    version: int
    name: str
    description: str
    config: dict[str, Any]
    created_at: datetime


class AgentVersionPage(Struct, frozen=True):
    items: list[AgentVersion]
    total: int
    limit: int
    offset: int
