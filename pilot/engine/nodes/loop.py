"""The ``loop`` node: runs its body sub-graph once per item; output = the list of item results.

``items`` is an expression (a list; a dict loops over its ``{key, value}`` pairs; ``None`` is an
empty list). At most the first ``max_items`` items are processed (the limit is a budget; the rest
are dropped) with at most ``max_concurrency`` bodies running at once. Inside the body, ``{{ item }}`` (or the configured ``item_var``) and
``{{ loop.index }}`` / ``{{ loop.length }}`` are bound, and outer node outputs stay visible.
An item's result is its body's output-node outputs, else its single sink node's output.
The first failing item fails the loop node (its ``on_error`` then applies).
"""

from __future__ import annotations

from typing import Any

from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import evaluate_field


async def loop_items(expr: str, scope: dict[str, Any]) -> list[Any]:
    value = await evaluate_field(expr, scope, "items")
    if value is None:
        return []
    if isinstance(value, dict):
        return [{"key": k, "value": v} for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise NodeError(f"items must evaluate to a list, got {type(value).__name__}")


class LoopRunner:
    node_type = "loop"
    slotless = True  # waits on its body; body nodes take the concurrency slots

    async def run(self, ctx: NodeContext) -> Any:
        config = ctx.node.config
        items = (await loop_items(config.items, ctx.scope))[: config.max_items]
        if not items:
            return []
        if ctx.run_subgraph is None:
            raise NodeError("loop bodies need the engine's sub-graph runner")
        return await ctx.run_subgraph(
            ctx.node, items, item_var=config.item_var, max_concurrency=config.max_concurrency, ctx=ctx
        )
