"""Sandboxed rendering for node runners, kept off the event loop when it is heavy.

Template failures become non-retryable NodeErrors naming the node field (retrying cannot fix a
template). Every render runs under a budget (:mod:`pilot.core.template_limits`):

1. a source without block tags (``{% … %}``) cannot loop, so it is rendered inline, on the event
   loop, with a small budget (:data:`INLINE_BUDGET`, a few ms of work): nearly every real
   prompt, URL or condition, at no thread-hop cost;
2. a source with block tags, or one that ran out of the inline budget (a filter over a large
   list), is rendered in a small pool of render *processes* with the full budget (rendering is
   pure, so a second try is safe). Processes rather than threads: a CPU-bound thread would
   still hold the GIL for the event loop's thread (measured: 185 ms /health stalls with four
   hostile renders in threads), while a render process leaves the API process untouched. The
   scope is plain JSON data (node outputs are converted at the boundary), so it pickles cheaply;
   workers fork from a forkserver that has already imported the sandbox.

Size limits (an output that would be too large) are final: a bigger budget cannot fix them.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from pilot.core.template_limits import DEFAULT_LIMITS, RenderLimits
from pilot.core.templating import TemplateError, TemplateLimitExceeded, evaluate, render, resolve
from pilot.engine.errors import NodeError

INLINE_BUDGET = RenderLimits(max_ops=5_000, time_s=0.005, max_output_chars=DEFAULT_LIMITS.max_output_chars)
log = logging.getLogger("pilot.engine")
_FUNCTIONS: dict[str, Callable[..., Any]] = {"render": render, "evaluate": evaluate, "resolve": resolve}
# Heavy renders are rare and each is bounded by DEFAULT_LIMITS.time_s, so two processes suffice.
_POOL_SIZE = 2
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _render_in_worker(kind: str, src: str, scope: dict[str, Any]) -> Any:
    """Runs in a render process."""
    return _FUNCTIONS[kind](src, scope, budget=DEFAULT_LIMITS)


def _render_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pilot.core.templating"])
            _pool = ProcessPoolExecutor(max_workers=_POOL_SIZE, mp_context=context)
        return _pool


def _discard_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def warm_render_pool() -> None:
    """Start the forkserver and every render process now (blocking, ~0.3 s: call it in a thread
    at start-up) so the first heavy render does not pay for it on the event loop."""
    pool = _render_pool()
    for future in [pool.submit(_render_in_worker, "render", "{% if 1 %}{% endif %}", {}) for _ in range(_POOL_SIZE)]:
        future.result()


def shutdown_render_pool() -> None:
    """Stop the render processes (process shutdown)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:  # renders are bounded (DEFAULT_LIMITS.time_s): waiting is short
        pool.shutdown(wait=True, cancel_futures=True)


async def _bounded(kind: str, src: str, scope: dict[str, Any], field: str) -> Any:
    """``fn(src, scope)`` inline with the small budget, else in the pool with the full one."""
    if "{%" not in src:
        try:
            return _FUNCTIONS[kind](src, scope, budget=INLINE_BUDGET)
        except TemplateLimitExceeded as exc:
            if not exc.work:
                raise NodeError(f"{field}: {exc}") from exc
        except TemplateError as exc:  # TemplateSecurityError is a subclass: same message
            raise NodeError(f"{field}: {exc}") from exc
    pool = _render_pool()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _render_in_worker, kind, src, scope)
    except TemplateError as exc:
        raise NodeError(f"{field}: {exc}") from exc
    except BrokenProcessPool as exc:  # a render process died (killed, out of memory)
        _discard_pool(pool)
        log.warning("a template render process died; the pool is rebuilt")
        raise NodeError(f"{field}: the template could not be rendered (its render process died)") from exc


async def render_field(src: str, scope: dict[str, Any], field: str) -> str:
    """``render`` a TEMPLATE field (prompt, url, query, ...)."""
    return await _bounded("render", src, scope, field)


async def evaluate_field(expr: str, scope: dict[str, Any], field: str) -> Any:
    """``evaluate`` an EXPRESSION field (a condition, loop items) to its JSON value."""
    return await _bounded("evaluate", expr, scope, field)


async def resolve_value(value: Any, scope: dict[str, Any], field: str) -> Any:
    """``resolve`` a VALUE field recursively (strings in dicts/lists), e.g. tool arguments."""
    if isinstance(value, str):
        return await _bounded("resolve", value, scope, field)
    if isinstance(value, dict):
        return {k: await resolve_value(v, scope, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [await resolve_value(v, scope, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
