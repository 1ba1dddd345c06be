"""Sample workflow bodies for API tests (valid unless the name says otherwise)."""

from __future__ import annotations

import copy
from typing import Any

_LINEAR: dict[str, Any] = {
    "nodes": [
        {"id": "inp", "type": "input", "config": {"fields": [{"name": "topic"}]}},
        {"id": "write", "type": "llm", "title": "Write", "config": {"model": "offline", "prompt": "Write about {{ inputs.topic }}"}},
        {"id": "out", "type": "output", "config": {"outputs": {"text": "{{ nodes.write.output }}"}}},
    ],
    "edges": [
        {"id": "e1", "source": "inp", "target": "write"},
        {"id": "e2", "source": "write", "target": "out"},
    ],
}


def linear_graph() -> dict[str, Any]:
    """input → llm → output."""
    return copy.deepcopy(_LINEAR)


def workflow_body(name: str = "Demo workflow", **extra: Any) -> dict[str, Any]:
    return {"name": name, **linear_graph(), **extra}


def fan_out_graph() -> dict[str, Any]:
    """input → (a, b) → output: two nodes in the same parallel level."""
    return {
        "nodes": [
            {"id": "inp", "type": "input", "config": {"fields": [{"name": "text"}]}},
            {"id": "a", "type": "llm", "config": {"model": "offline", "prompt": "Summarise {{ inputs.text }}"}},
            {"id": "b", "type": "llm", "config": {"model": "offline", "prompt": "Translate {{ inputs.text }}"}},
            {"id": "out", "type": "output", "config": {"outputs": {"a": "{{ nodes.a.output }}", "b": "{{ nodes.b.output }}"}}},
        ],
        "edges": [
            {"id": "e1", "source": "inp", "target": "a"},
            {"id": "e2", "source": "inp", "target": "b"},
            {"id": "e3", "source": "a", "target": "out"},
            {"id": "e4", "source": "b", "target": "out"},
        ],
    }


def cyclic_graph() -> dict[str, Any]:
    """Valid nodes, but write ↔ check form a cycle."""
    g = linear_graph()
    g["nodes"].insert(2, {"id": "check", "type": "llm", "config": {"model": "offline", "prompt": "Check {{ inputs.topic }}"}})
    g["edges"] = [
        {"id": "e1", "source": "inp", "target": "write"},
        {"id": "e2", "source": "write", "target": "check"},
        {"id": "e3", "source": "check", "target": "write"},
        {"id": "e4", "source": "check", "target": "out"},
    ]
    return g
