"""The built-in runners, one per canonical node type (the registry in ``__init__`` loads these)."""

from __future__ import annotations

from pilot.engine.nodes.base import NodeRunner


def runners() -> list[NodeRunner]:
    """Instances of every built-in runner available in this checkout."""
    found: list[NodeRunner] = []
    # llm / api / knowledge / tool (engine-nodes helper)
    from pilot.engine.nodes.api import ApiRunner
    from pilot.engine.nodes.knowledge import KnowledgeRunner
    from pilot.engine.nodes.llm import LlmRunner
    from pilot.engine.nodes.tool import ToolRunner

    found += [LlmRunner(), ApiRunner(), KnowledgeRunner(), ToolRunner()]
    return found
