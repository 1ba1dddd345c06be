"""The ``tool`` node: calls a registered connector (webhook, Slack, email, ...).

``arguments`` are VALUE fields: each string is resolved in the sandbox (one ``{{ expr }}`` keeps
its native type, mixed text renders to a string), recursively through dicts and lists. The tool
registry validates the result against the tool's Struct, so a bad argument fails the node with a
non-retryable error naming the field; an unknown tool names the available ones.
"""

from __future__ import annotations

from typing import Any

from pilot.engine.errors import NodeError
from pilot.engine.idempotency import node_idempotency_key
from pilot.engine.nodes.rendering import resolve_value
from pilot.tools.base import ToolContext, ToolError
from pilot.workflows.model import ToolConfig

# Per-call budget of a tool's own I/O when the node sets no timeout_s (the engine's node timeout
# still applies on top).
DEFAULT_TOOL_TIMEOUT_S = 30.0


class ToolRunner:
    """Runs ``tool`` nodes through ``ctx.services.tools`` (the :class:`ToolRegistry`)."""

    node_type = "tool"

    async def run(self, ctx) -> Any:
        config: ToolConfig = ctx.node.config
        services = ctx.services
        arguments = await resolve_value(dict(config.arguments), ctx.scope, "arguments")
        tool_ctx = ToolContext(
            settings=services.settings,
            http=services.http,
            timeout_s=ctx.node.timeout_s or DEFAULT_TOOL_TIMEOUT_S,
            workspace_id=ctx.workspace_id,
            idempotency_key=node_idempotency_key(ctx),  # same across retries/resumes of this call
            sessions=services.sessions,
        )
        try:
            if services.dry_run:  # a test run: arguments validated and recorded, nothing delivered
                services.tools.validate(config.tool, arguments)
                return {"dry_run": True, "tool": config.tool, "arguments": arguments}
            return await services.tools.invoke(config.tool, arguments, tool_ctx)
        except ToolError as exc:
            raise NodeError(exc.message, retryable=exc.retryable, retry_after=exc.retry_after) from exc
