"""Shared helpers of the interop tests: fixture files and graph walking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pilot.workflows.validation import validate_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "interop"


def load(name: str) -> dict[str, Any]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def all_nodes(graph: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], list(graph["nodes"])
    while stack:
        node = stack.pop(0)
        out.append(node)
        if node["type"] == "loop":
            stack.extend(node["config"]["body"]["nodes"])
    return out


def by_title(graph: dict[str, Any], title: str) -> dict[str, Any]:
    return next(n for n in all_nodes(graph) if n.get("title") == title)


def assert_valid(graph: dict[str, Any]) -> None:
    _graph, report = validate_data(graph)
    assert report.valid, [p.message for p in report.problems]
