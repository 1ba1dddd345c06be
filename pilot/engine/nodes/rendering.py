"""Sandboxed rendering for node runners: template failures become non-retryable NodeErrors.

A template that tries to escape the sandbox (``{{ ().__class__.__mro__ }}``) fails the node with a
message naming the node field; retrying cannot fix a template, so these are never retryable.
"""

from __future__ import annotations

from typing import Any

from pilot.core.templating import TemplateError, TemplateSecurityError, render, resolve
from pilot.engine.errors import NodeError


def render_field(src: str, scope: dict[str, Any], field: str) -> str:
    """``render`` a TEMPLATE field (prompt, url, query, ...)."""
    try:
        return render(src, scope)
    except TemplateSecurityError as exc:
        raise NodeError(f"{field}: {exc}") from exc
    except TemplateError as exc:
        raise NodeError(f"{field}: {exc}") from exc


def resolve_value(value: Any, scope: dict[str, Any], field: str) -> Any:
    """``resolve`` a VALUE field recursively (strings in dicts/lists), e.g. tool arguments."""
    if isinstance(value, str):
        try:
            return resolve(value, scope)
        except TemplateSecurityError as exc:
            raise NodeError(f"{field}: {exc}") from exc
        except TemplateError as exc:
            raise NodeError(f"{field}: {exc}") from exc
    if isinstance(value, dict):
        return {k: resolve_value(v, scope, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, scope, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
