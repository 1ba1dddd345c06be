"""The ``output`` node: ``outputs = {name: value expression}`` resolved in the sandbox.

The run's ``outputs`` are the merged outputs of its (non-skipped) output nodes.
"""

from __future__ import annotations

from typing import Any

from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import resolve_value


class OutputRunner:
    node_type = "output"

    async def run(self, ctx: NodeContext) -> Any:
        return {
            name: await resolve_value(expr, ctx.scope, f"outputs.{name}") for name, expr in ctx.node.config.outputs.items()
        }
