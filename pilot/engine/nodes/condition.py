"""The ``condition`` node: the first case whose ``when`` expression is truthy picks the branch.

Output: ``{"branch": <case id or the else handle>}``; the engine follows the edges whose
``source_handle`` is that branch and skips the others (and their exclusive descendants).
"""

from __future__ import annotations

from typing import Any

from pilot.core.templating import TemplateError, evaluate
from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext


class ConditionRunner:
    node_type = "condition"

    async def run(self, ctx: NodeContext) -> Any:
        config = ctx.node.config
        for case in config.cases:
            try:
                matched = evaluate(case.when, ctx.scope)
            except TemplateError as exc:  # includes TemplateSecurityError (sandbox escapes)
                raise NodeError(f"cases[{case.id}].when: {exc}") from exc
            if matched:
                return {"branch": case.id}
        return {"branch": config.else_}
