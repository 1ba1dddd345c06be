"""The built-in runners, one per canonical node type (the registry in ``__init__`` loads these)."""

from __future__ import annotations

from pilot.engine.nodes.base import NodeRunner


def runners() -> list[NodeRunner]:
    """Instances of every built-in runner available in this checkout."""
    found: list[NodeRunner] = []
    return found
