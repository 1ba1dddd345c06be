"""Sandboxed rendering for node runners, kept off the event loop when it is heavy.

Template failures become non-retryable NodeErrors naming the node field (retrying cannot fix a
template). Every render runs under a budget (:mod:`pilot.core.template_limits`):

1. first inline, on the event loop, with a small budget (:data:`INLINE_BUDGET`, ~20 ms of work):
   nearly every real prompt, URL or condition fits, and costs no thread hop;
2. a render that runs out of that budget (a loop, a large list) is pure, so it is simply run
   again in the render thread pool with the full budget. The event loop keeps serving other
   runs and requests meanwhile, and the node's own timeout still fires on time.

Size limits (an output that would be too large) are final: a bigger budget cannot fix them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

from pilot.core.template_limits import DEFAULT_LIMITS, RenderLimits
from pilot.core.templating import TemplateError, TemplateLimitExceeded, evaluate, render, resolve
from pilot.engine.errors import NodeError

INLINE_BUDGET = RenderLimits(max_ops=20_000, time_s=0.02, max_output_chars=DEFAULT_LIMITS.max_output_chars)
# Heavy renders are rare and each is bounded by DEFAULT_LIMITS.time_s, so a few threads suffice.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pilot-render")


async def _bounded(fn: Callable[..., Any], src: str, scope: dict[str, Any], field: str) -> Any:
    """``fn(src, scope)`` inline with the small budget, else in the pool with the full one."""
    try:
        return fn(src, scope, budget=INLINE_BUDGET)
    except TemplateLimitExceeded as exc:
        if not exc.work:
            raise NodeError(f"{field}: {exc}") from exc
    except TemplateError as exc:  # TemplateSecurityError is a subclass: same message
        raise NodeError(f"{field}: {exc}") from exc
    # A snapshot: node outputs keep arriving on the event loop while the thread reads them.
    snapshot = {**scope, "nodes": dict(scope.get("nodes") or {})}
    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, partial(fn, src, snapshot, budget=DEFAULT_LIMITS))
    except TemplateError as exc:
        raise NodeError(f"{field}: {exc}") from exc


async def render_field(src: str, scope: dict[str, Any], field: str) -> str:
    """``render`` a TEMPLATE field (prompt, url, query, ...)."""
    return await _bounded(render, src, scope, field)


async def evaluate_field(expr: str, scope: dict[str, Any], field: str) -> Any:
    """``evaluate`` an EXPRESSION field (a condition, loop items) to its JSON value."""
    return await _bounded(evaluate, expr, scope, field)


async def resolve_value(value: Any, scope: dict[str, Any], field: str) -> Any:
    """``resolve`` a VALUE field recursively (strings in dicts/lists), e.g. tool arguments."""
    if isinstance(value, str):
        return await _bounded(resolve, value, scope, field)
    if isinstance(value, dict):
        return {k: await resolve_value(v, scope, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [await resolve_value(v, scope, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
