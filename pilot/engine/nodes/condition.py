"""The ``condition`` node: the first case whose ``when`` expression is truthy picks the branch.

Output: ``{"branch": <case id or the else handle>}``; the engine follows the edges whose
``source_handle`` is that branch and skips the others (and their exclusive descendants).
"""

from __future__ import annotations

from typing import Any

from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import evaluate_field


class ConditionRunner:
    node_type = "condition"

    async def run(self, ctx: NodeContext) -> Any:
        config = ctx.node.config
        for case in config.cases:
            matched = await evaluate_field(case.when, ctx.scope, f"cases[{case.id}].when")
            if matched:
                return {"branch": case.id}
        return {"branch": config.else_}
