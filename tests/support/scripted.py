"""A scriptable stand-in for the ``tool`` node runner, for engine tests.

``with scripted_tool() as probe:`` replaces the registry's ``tool`` runner (restored on exit).
A tool node's ``arguments`` drive it:

- ``sleep`` (s): how long each attempt takes; ``value``: the output (default: the node id);
- ``fail``: list of failures for the first attempts, each ``{"status": 500, "retry_after": s}``
  (status 429/5xx/None → retryable, other 4xx → not retryable);
- ``key``: name used in ``probe.calls`` (default: the node id).

``probe.calls`` records ``(key, attempt, start, end)`` (``time.monotonic``) per attempt, and
``probe.max_active`` the highest number of attempts running at the same time.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from typing import Any

from pilot.engine.errors import NodeError
from pilot.engine.nodes import RUNNERS, register


class ScriptedTool:
    node_type = "tool"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, float, float]] = []
        self.active = 0
        self.max_active = 0

    async def run(self, ctx) -> Any:
        args = ctx.node.config.arguments
        key = args.get("key", ctx.node.id)
        start = time.monotonic()
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if args.get("sleep"):
                await asyncio.sleep(float(args["sleep"]))
            failures = args.get("fail") or []
            if ctx.attempt <= len(failures):
                failure = failures[ctx.attempt - 1]
                status = failure.get("status")
                retryable = status is None or status == 429 or status >= 500
                raise NodeError(f"HTTP {status}", retryable=retryable, retry_after=failure.get("retry_after"))
            ctx.add_usage({"calls": 1})
            return args.get("value", ctx.node.id)
        finally:
            self.active -= 1
            self.calls.append((key, ctx.attempt, start, time.monotonic()))

    def of(self, key: str) -> list[tuple[str, int, float, float]]:
        return [c for c in self.calls if c[0] == key]


@contextmanager
def scripted_tool():
    original = RUNNERS.get("tool")
    probe = ScriptedTool()
    register(probe, replace=True)
    try:
        yield probe
    finally:
        if original is not None:
            register(original, replace=True)


def tool(id: str, **arguments: Any) -> dict[str, Any]:
    """A tool node for the scripted runner (policy fields go on the node)."""
    policy = {k: arguments.pop(k) for k in ("retry", "timeout_s", "on_error", "default_output") if k in arguments}
    return {"id": id, "type": "tool", "config": {"tool": "scripted", "arguments": arguments}, **policy}
