"""The ``code`` node: user Python run in the isolated sandbox (:mod:`pilot.sandbox`).

``inputs`` are value expressions (``{{ nodes.fetch.output.body }}`` keeps its JSON type; plain
text is a literal), resolved like output fields and passed to the code as one dict. The code
defines ``main(inputs)`` returning a JSON value, or assigns a global ``result``.

Output: ``{"result": <that JSON value>, "stdout": "<what it printed, at most max_output_bytes,
with a truncation note>"}``.

Every failure is a non-retryable NodeError (the same code on the same inputs fails the same
way): an exception in the code (``"code failed: ValueError: bad row (line 7)"``), a result that
is not JSON or too large, the CPU / wall-time / memory / output limits, a refused operation
(``PermissionError`` from the kernel layers), or no sandbox with the required isolation on this
machine. ``language: javascript`` is refused: this server runs Python only.
"""

from __future__ import annotations

from typing import Any

from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import resolve_value
from pilot.sandbox.pool import Limits, SandboxError, SandboxUnavailable, get_pool
from pilot.workflows.model import CodeConfig

STDOUT_IN_ERROR = 500  # characters of the captured stdout quoted in a failure message


def limits_of(config: CodeConfig) -> Limits:
    wall = config.wall_time_s if config.wall_time_s is not None else 2 * config.cpu_time_s + 1
    return Limits(cpu_time_s=config.cpu_time_s, memory_mb=config.memory_mb,
                  max_output_bytes=config.max_output_bytes, wall_time_s=wall)


class CodeRunner:
    """Runs ``code`` nodes in a fresh sandbox process each (see :mod:`pilot.sandbox.pool`)."""

    node_type = "code"

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        config: CodeConfig = ctx.node.config
        if config.language != "python":
            raise NodeError(f"language {config.language!r} is not available on this server: code nodes run Python only")
        inputs = {name: await resolve_value(expr, ctx.scope, f"inputs.{name}") for name, expr in config.inputs.items()}
        try:
            outcome = await get_pool().run(config.code, inputs, limits_of(config))
        except SandboxUnavailable as exc:
            raise NodeError(f"code sandbox unavailable: {exc}") from exc
        except SandboxError as exc:
            raise NodeError(f"code stopped: {exc}") from exc
        if not outcome.ok:
            tail = outcome.stdout[-STDOUT_IN_ERROR:]
            raise NodeError(f"code failed: {outcome.error}" + (f"; stdout: {tail}" if tail.strip() else ""))
        return {"result": outcome.result, "stdout": outcome.stdout}
