"""Registered MCP servers, always scoped to one workspace (another workspace's server is 404).

A server's row holds its transport settings and the *name* of the credential for its auth header;
:func:`server_spec` decrypts that credential only when connecting (registered for redaction
first), so no response, row or log line carries the value. Plain ``headers`` may not carry
credentials: ``Authorization``/``Cookie``-like names and values that look like secrets are refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError, NotFoundError, UnprocessableError
from pilot.core.ids import aware, new_id, utcnow
from pilot.core.pasted_secrets import find_pasted_secret
from pilot.credentials.crypto import CredentialDecryptError, CredentialKeyError, cipher_for
from pilot.credentials.store import register_value
from pilot.db.models import CredentialRow, McpServerRow
from pilot.mcp.client import McpFailure, ServerSpec
from pilot.mcp.schemas import McpServer, McpServerCreate, McpServerUpdate
from pilot.settings import Settings

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"})
_CONFIG_FIELDS = ("headers", "credential", "auth_header", "auth_scheme", "command", "args", "timeout_s")


class McpServerNotFound(NotFoundError):
    """No MCP server with that id or name in the workspace."""


def _bad(field: str, message: str) -> UnprocessableError:
    return UnprocessableError(f"{field}: {message}", extra=[{"key": field, "message": message, "source": "body"}])


def _server(row: McpServerRow) -> McpServer:
    c = row.config or {}
    return McpServer(
        id=row.id, name=row.name, description=row.description, transport=row.transport, url=row.url,
        headers=dict(c.get("headers") or {}), credential=c.get("credential"), auth_header=c.get("auth_header", "Authorization"),
        auth_scheme=c.get("auth_scheme", "Bearer"), command=c.get("command"), args=list(c.get("args") or []),
        timeout_s=c.get("timeout_s"), created_at=aware(row.created_at), updated_at=aware(row.updated_at),
    )


async def _check(session: AsyncSession, workspace_id: str, data: dict[str, Any], settings: Settings) -> None:
    """The whole configuration (after an update is applied) must be usable."""
    transport = data["transport"]
    if transport == "stdio":
        if not settings.tools.mcp_stdio:
            raise _bad("transport", "stdio MCP servers are disabled on this server (the operator sets PILOT_MCP_STDIO=true)")
        if not data.get("command"):
            raise _bad("command", "a stdio server needs the command that starts it")
    else:
        url = data.get("url")
        if not url:
            raise _bad("url", f"a {transport} server needs its URL")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise _bad("url", f"not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _bad("url", "use an http:// or https:// URL with a host")
    for name, value in (data.get("headers") or {}).items():
        auth_clash = bool(data.get("credential")) and name.lower() == (data.get("auth_header") or "").lower()
        if name.lower() in _SECRET_HEADERS or auth_clash:
            raise _bad(f"headers.{name}", "credentials do not belong in plain headers: store the value with "
                       "POST /api/credentials and name it in 'credential' (sent as 'auth_header')")
        if find_pasted_secret(value):
            raise _bad(f"headers.{name}", "this value looks like a secret: store it as a credential and name it in 'credential'")
    credential = data.get("credential")
    if credential and not await session.scalar(
        sa.select(CredentialRow.id).where(CredentialRow.workspace_id == workspace_id, CredentialRow.name == credential)
    ):
        raise _bad("credential", f"this workspace has no credential named {credential!r} (create it with POST /api/credentials)")


def _taken(name: str) -> ConflictError:
    return ConflictError(f"an MCP server named {name!r} already exists", extra=[{"key": "name", "source": "body"}])


async def create_server(session: AsyncSession, workspace_id: str, data: McpServerCreate, settings: Settings) -> McpServer:
    values = msgspec.to_builtins(data)
    await _check(session, workspace_id, values, settings)
    if await session.scalar(sa.select(McpServerRow.id).where(McpServerRow.workspace_id == workspace_id, McpServerRow.name == data.name)):
        raise _taken(data.name)
    now = utcnow()
    row = McpServerRow(
        id=new_id("mcp"), workspace_id=workspace_id, name=data.name, description=data.description, transport=data.transport,
        url=data.url, config={k: values.get(k) for k in _CONFIG_FIELDS}, created_at=now, updated_at=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _taken(data.name) from exc
    return _server(row)


async def list_servers(session: AsyncSession, workspace_id: str, *, limit: int, offset: int) -> tuple[list[McpServer], int]:
    where = McpServerRow.workspace_id == workspace_id
    total = await session.scalar(sa.select(sa.func.count()).select_from(McpServerRow).where(where)) or 0
    rows = (await session.scalars(sa.select(McpServerRow).where(where).order_by(McpServerRow.name).limit(limit).offset(offset))).all()
    return [_server(r) for r in rows], total


async def server_row(session: AsyncSession, workspace_id: str, ref: str) -> McpServerRow:
    """By id, else by name, inside the workspace."""
    for column in (McpServerRow.id, McpServerRow.name):
        row = await session.scalar(sa.select(McpServerRow).where(McpServerRow.workspace_id == workspace_id, column == ref))
        if row is not None:
            return row
    raise McpServerNotFound(f"MCP server {ref!r} not found")


async def get_server(session: AsyncSession, workspace_id: str, ref: str) -> McpServer:
    return _server(await server_row(session, workspace_id, ref))


async def update_server(session: AsyncSession, workspace_id: str, ref: str, data: McpServerUpdate, settings: Settings) -> McpServer:
    row = await server_row(session, workspace_id, ref)
    current = msgspec.to_builtins(_server(row))
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    merged = {**current, **msgspec.to_builtins(changes)}
    await _check(session, workspace_id, merged, settings)
    if merged["name"] != row.name and await session.scalar(
        sa.select(McpServerRow.id).where(McpServerRow.workspace_id == workspace_id, McpServerRow.name == merged["name"])
    ):
        raise _taken(merged["name"])
    row.name, row.description, row.transport, row.url = merged["name"], merged["description"], merged["transport"], merged["url"]
    row.config = {k: merged.get(k) for k in _CONFIG_FIELDS}
    row.updated_at = utcnow()
    await session.flush()
    return _server(row)


async def delete_server(session: AsyncSession, workspace_id: str, ref: str) -> None:
    await session.delete(await server_row(session, workspace_id, ref))
    await session.flush()


async def _auth_header(session: AsyncSession, settings: Settings, workspace_id: str, config: dict[str, Any]) -> dict[str, str]:
    name = config.get("credential")
    if not name:
        return {}
    row = await session.scalar(sa.select(CredentialRow).where(CredentialRow.workspace_id == workspace_id, CredentialRow.name == name))
    if row is None:
        raise McpFailure(f"credential {name!r} of this MCP server no longer exists in the workspace")
    try:
        value = cipher_for(settings.app).decrypt(workspace_id, row.id, row.ciphertext)
    except (CredentialDecryptError, CredentialKeyError, OSError) as exc:
        raise McpFailure(f"credential {name!r} cannot be used: {exc}") from None
    register_value(value, row.type)
    header, sep, rest = value.partition(":")
    if row.type == "http_header" and sep and header.strip() and " " not in header.strip():
        return {header.strip(): rest.strip()}
    scheme = (config.get("auth_scheme") or "").strip()
    return {config.get("auth_header") or "Authorization": f"{scheme} {value}" if scheme else value}


async def server_spec(session: AsyncSession, settings: Settings, workspace_id: str, ref: str) -> tuple[McpServerRow, ServerSpec]:
    """The row and a connectable spec (auth header decrypted) of server ``ref`` in the workspace."""
    row = await server_row(session, workspace_id, ref)
    config = row.config or {}
    headers = {**(config.get("headers") or {}), **await _auth_header(session, settings, workspace_id, config)}
    return row, ServerSpec(
        name=row.name, transport=row.transport, url=row.url, timeout_s=float(config.get("timeout_s") or settings.tools.mcp_timeout_s),
        headers=headers, command=config.get("command"), args=tuple(config.get("args") or ()), stdio_allowed=settings.tools.mcp_stdio,
    )
