"""A tool instance bound for one call or test: its credential decrypted and applied, its
defaults merged, its connection settings in place.

How the credential is used, by connector:

- ``slack``, ``feishu``, ``dingtalk``, ``wecom``: the value is the bot's webhook URL
  (``webhook_url``);
- ``email``: the value is the SMTP password (with the instance's ``config`` SMTP server, or the
  process's ``SMTP_*``);
- ``webhook``, ``http``: a credential of type ``http_header`` (``"X-Api-Key: abc…"``) is sent as
  that header; any other type is sent as ``Authorization: Bearer <value>``.

The value is decrypted only here, registered for redaction first (so it is ``[REDACTED]`` in
events, errors, responses and logs), and never part of a result. SMTP servers named by an
instance are checked against the outbound guard (:mod:`pilot.outbound`) like HTTP destinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.credentials.crypto import CredentialDecryptError, CredentialKeyError, cipher_for
from pilot.credentials.store import register_value
from pilot.db.models import CredentialRow, ToolInstanceRow
from pilot.outbound import GuardedBackend, OutboundError
from pilot.settings import Settings
from pilot.tools.base import Tool, ToolContext, ToolError
from pilot.tools.registry import ToolRegistry, arguments_schema

BOT_CONNECTORS = frozenset({"slack", "feishu", "dingtalk", "wecom"})
HTTP_CONNECTORS = frozenset({"webhook", "http"})


def function_parameters(arguments: type[msgspec.Struct], hidden: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The JSON Schema (an object at the top, as function calling wants) of a connector's
    arguments Struct without the ``hidden`` fields."""
    schema = arguments_schema(arguments)  # shared: read, never mutated
    defs: dict[str, Any] = dict(schema.get("$defs") or {})
    top, top_name = schema, None
    if "$ref" in schema:
        top_name = schema["$ref"].rsplit("/", 1)[-1]
        top = defs.get(top_name, {})
    properties = {k: v for k, v in (top.get("properties") or {}).items() if k not in hidden}
    out: dict[str, Any] = {"type": "object", "properties": properties}
    required = [name for name in top.get("required") or [] if name not in hidden]
    if required:
        out["required"] = required
    others = {k: v for k, v in defs.items() if k != top_name}
    if others and b"$ref" in msgspec.json.encode(properties):
        out["$defs"] = others
    return out


async def load_secret(session: AsyncSession, settings: Settings, workspace_id: str, name: str) -> tuple[str, str]:
    """``(value, type)`` of the workspace's credential ``name``, registered for redaction."""
    row = await session.scalar(sa.select(CredentialRow).where(CredentialRow.workspace_id == workspace_id,
                                                              CredentialRow.name == name))
    if row is None:
        raise ToolError(f"credential {name!r} not found in this workspace (it was deleted?)")
    try:
        value = cipher_for(settings.app).decrypt(workspace_id, row.id, row.ciphertext)
    except (CredentialDecryptError, CredentialKeyError, OSError) as exc:
        raise ToolError(f"credential {name!r} cannot be used: {exc}") from exc
    register_value(value, row.type)
    return value, row.type


@dataclass(frozen=True, slots=True)
class BoundTool:
    """One tool instance ready to call (see the module docstring)."""

    name: str
    connector: str
    tool: Tool
    description: str
    defaults: dict[str, Any]
    settings: Settings  # with the instance's SMTP server for email tools
    secret: str | None = None
    secret_type: str | None = None
    smtp_pinned: bool = False  # the SMTP host comes from the instance (user input): guard it

    def hidden(self) -> set[str]:
        """Arguments the model does not see: the defaults, and what the credential fills."""
        hidden = set(self.defaults)
        if self.secret and self.connector in BOT_CONNECTORS:
            hidden.add("webhook_url")
        return hidden

    def parameters(self) -> dict[str, Any]:
        return function_parameters(self.tool.arguments, self.hidden())

    def arguments(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The connector's arguments: ``given`` (the model's), then the defaults, then the credential."""
        given = {k: v for k, v in (given or {}).items() if k not in self.hidden()}
        out = {**given, **self.defaults}
        if self.secret is None:
            return out
        if self.connector in BOT_CONNECTORS:
            out["webhook_url"] = self.secret
        elif self.connector in HTTP_CONNECTORS:
            headers = dict(out.get("headers") or {})
            if self.secret_type == "http_header" and ":" in self.secret:
                key, _, value = self.secret.partition(":")
                headers[key.strip()] = value.strip()
            else:
                headers["Authorization"] = f"Bearer {self.secret}"
            out["headers"] = headers
        return out

    async def check_destination(self, ctx: ToolContext) -> None:
        """The outbound guard for an instance's own SMTP server (HTTP is guarded by the client)."""
        if not (self.connector == "email" and self.smtp_pinned):
            return
        tools = self.settings.tools
        http = ctx.http
        backend = GuardedBackend(http.policy, getattr(http, "_resolver", None))
        try:
            await backend.resolve(tools.smtp_host or "", tools.smtp_port, timeout=min(ctx.timeout_s, 10.0))
        except OutboundError as exc:
            raise ToolError(f"{self.name}: SMTP server {exc.message}") from exc
        except Exception as exc:  # noqa: BLE001 - httpcore's resolution errors
            raise ToolError(f"{self.name}: cannot resolve the SMTP server {tools.smtp_host!r}: {exc}", retryable=True) from exc

    def context(self, base: ToolContext) -> ToolContext:
        """``base`` with this instance's settings."""
        return ToolContext(settings=self.settings, http=base.http, timeout_s=base.timeout_s,
                           workspace_id=base.workspace_id, idempotency_key=base.idempotency_key, sessions=base.sessions)

    async def invoke(self, registry: ToolRegistry, given: dict[str, Any], base: ToolContext) -> Any:
        """Validate the merged arguments and call the connector."""
        ctx = self.context(base)
        await self.check_destination(ctx)
        return await registry.invoke(self.connector, self.arguments(given), ctx)


async def bind(session: AsyncSession, settings: Settings, registry: ToolRegistry, row: ToolInstanceRow) -> BoundTool:
    """Bind a stored tool instance (decrypting its credential)."""
    tool = registry.get(row.connector)
    secret = secret_type = None
    if row.credential:
        secret, secret_type = await load_secret(session, settings, row.workspace_id, row.credential)
    config = {k: v for k, v in (row.config or {}).items() if v is not None}
    bound_settings = settings
    if row.connector == "email":
        overrides = dict(config)
        if secret is not None:
            overrides["smtp_password"] = secret
        if overrides:
            bound_settings = msgspec.structs.replace(settings, tools=msgspec.structs.replace(settings.tools, **overrides))
    return BoundTool(name=row.name, connector=row.connector, tool=tool, description=row.description or tool.description,
                     defaults=dict(row.defaults or {}), settings=bound_settings, secret=secret, secret_type=secret_type,
                     smtp_pinned="smtp_host" in config)
