"""The tool registry: name → connector, with argument validation in one place."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from pilot.settings import Settings
from pilot.tools.base import Tool, ToolContext, ToolError
from pilot.tools.chatbots import DingTalkTool, FeishuTool, WeComTool
from pilot.tools.email import EmailTool
from pilot.tools.http_request import HttpRequestTool
from pilot.tools.slack import SlackTool
from pilot.tools.webhook import WebhookTool


class ToolInfo(msgspec.Struct, frozen=True):
    """A tool as ``GET /api/tools`` lists it."""

    name: str
    description: str
    configured: bool
    arguments_schema: dict[str, Any]


class UnknownTool(ToolError):
    """No tool with that name is registered."""


class ToolRegistry:
    """Holds the connectors; ``invoke`` validates arguments then calls the tool."""

    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(f"unknown tool {name!r}; available tools: {', '.join(self.names())}") from None

    def validate(self, name: str, arguments: dict[str, Any]) -> Any:
        """Convert rendered arguments into the tool's Struct; the error names the bad field."""
        tool = self.get(name)
        prepare = getattr(tool, "prepare", None)
        if prepare is not None:
            arguments = prepare(arguments)
        try:
            return msgspec.convert(arguments, tool.arguments, strict=False)
        except msgspec.ValidationError as exc:
            detail, sep, path = str(exc).rpartition(" - at `$.")
            if sep:  # "Expected `str` ... - at `$.to`" → "invalid argument 'to' for tool 'email': Expected ..."
                raise ToolError(f"invalid argument {path.rstrip('`')!r} for tool {name!r}: {detail}") from exc
            raise ToolError(f"invalid arguments for tool {name!r}: {exc}") from exc

    async def invoke(self, name: str, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        args = self.validate(name, arguments)
        return await self.get(name).call(args, ctx)

    def describe(self, settings: Settings) -> list[ToolInfo]:
        """The connectors as ``GET /api/tools/connectors`` lists them (schemas built once per process)."""
        return [
            ToolInfo(
                name=tool.name,
                description=tool.description,
                configured=tool.configured(settings),
                arguments_schema=arguments_schema(tool.arguments),
            )
            for tool in (self._tools[n] for n in self.names())
        ]


@lru_cache(maxsize=256)
def arguments_schema(arguments: type) -> dict[str, Any]:
    """The JSON Schema of a connector's argument Struct, built once: building it takes ~0.5 ms
    and it cannot change while the process runs. Callers must not mutate the shared dict."""
    return msgspec.json.schema(arguments)


def default_registry() -> ToolRegistry:
    """The built-in connectors: generic webhook, generic HTTP request, Slack incoming webhook, email
    via SMTP, and the Feishu / DingTalk / WeCom group bots."""
    from pilot.mcp.tool import McpTool  # the workspace's MCP servers and data tables (imported here:
    from pilot.tables.tool import TableTool  # they register agent resolvers, which import the engine)

    return ToolRegistry([WebhookTool(), HttpRequestTool(), SlackTool(), EmailTool(), FeishuTool(), DingTalkTool(), WeComTool(),
                         McpTool(), TableTool()])
