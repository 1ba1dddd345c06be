"""Sandboxed rendering for node runners: template failures become non-retryable NodeErrors.

A template that tries to escape the sandbox (``{{ ().__class__.__mro__ }}``) fails the node with a
message naming the node field; retrying cannot fix a template, so these are never retryable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pilot.core.templating import TemplateError, render, resolve
from pilot.engine.errors import NodeError


def _as_node_error(fn: Callable[[str, dict[str, Any]], Any], src: str, scope: dict[str, Any], field: str) -> Any:
    """Call ``fn(src, scope)``; a TemplateError (sandbox escapes included) names the field."""
    try:
        return fn(src, scope)
    except TemplateError as exc:  # TemplateSecurityError is a subclass: same message
        raise NodeError(f"{field}: {exc}") from exc


def render_field(src: str, scope: dict[str, Any], field: str) -> str:
    """``render`` a TEMPLATE field (prompt, url, query, ...)."""
    return _as_node_error(render, src, scope, field)


def resolve_value(value: Any, scope: dict[str, Any], field: str) -> Any:
    """``resolve`` a VALUE field recursively (strings in dicts/lists), e.g. tool arguments."""
    if isinstance(value, str):
        return _as_node_error(resolve, value, scope, field)
    if isinstance(value, dict):
        return {k: resolve_value(v, scope, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, scope, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
