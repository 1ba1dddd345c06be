"""Configured tool instances of a workspace (``/api/tools``): a connector of the registry plus a
credential *reference*, connection settings and default arguments.

- ``connector``: a registry name (``http``, ``webhook``, ``slack``, ``email``, ``feishu``, …).
- ``credential``: the *name* of a workspace credential (``/api/credentials``); its value is
  decrypted only when the tool is called or tested, and how it is used depends on the connector
  (:mod:`pilot.tools.binding`). The value is never stored here nor returned.
- ``config``: connection settings; only ``email`` has any (``smtp_host``, ``smtp_port``,
  ``smtp_user``, ``smtp_from``, ``smtp_starttls``, ``smtp_timeout_s``: the instance's own
  SMTP server instead of the process's ``SMTP_*``).
- ``defaults``: arguments of the connector fixed by the instance. They are hidden from an
  agent's model (the function it sees has only the other arguments) and win over anything the
  model sends, so a tool pinned to a URL stays pinned.

Every query is scoped to the workspace: another workspace's tool is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from msgspec import Meta, Struct
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import BadRequestError, ConflictError, NotFoundError
from pilot.core.ids import aware, new_id, utcnow
from pilot.db.models import CredentialRow, ToolInstanceRow
from pilot.tools.registry import ToolInfo, ToolRegistry, UnknownTool

ToolName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$",
                               description="unique in the workspace; agents see it as the function name")]
CredentialRef = Annotated[str, Meta(pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,63})?$", description="a credential name ('' removes it)")]
Description = Annotated[str, Meta(max_length=2_000)]


class EmailConnection(Struct, forbid_unknown_fields=True):
    """``config`` of an ``email`` tool: its own SMTP server (the password is the credential)."""

    smtp_host: Annotated[str, Meta(min_length=1, max_length=253)] | None = None
    smtp_port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    smtp_user: Annotated[str, Meta(max_length=320)] | None = None
    smtp_from: Annotated[str, Meta(max_length=320)] | None = None
    smtp_starttls: bool | None = None
    smtp_timeout_s: Annotated[float, Meta(gt=0, le=120)] | None = None


CONNECTION_CONFIGS: dict[str, type[Struct]] = {"email": EmailConnection}


class ToolInstanceCreate(Struct, forbid_unknown_fields=True):
    name: ToolName
    connector: Annotated[str, Meta(min_length=1, max_length=64)]
    description: Description = ""
    credential: CredentialRef | None = None
    config: dict[str, Any] = {}
    defaults: dict[str, Any] = {}


class ToolInstanceUpdate(Struct, forbid_unknown_fields=True):
    """Fields left out keep their value; ``credential: ""`` removes the reference."""

    name: ToolName | None = None
    description: Description | None = None
    credential: CredentialRef | None = None
    config: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None


class ToolInstance(Struct, frozen=True):
    id: str
    name: str
    connector: str
    description: str
    credential: str | None
    config: dict[str, Any]
    defaults: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ToolInstancePage(Struct, frozen=True):
    """``GET /api/tools``: the configured tools, plus the connectors they can be made from."""

    items: list[ToolInstance]
    total: int
    limit: int
    offset: int
    connectors: list[ToolInfo] = []


def to_instance(row: ToolInstanceRow) -> ToolInstance:
    return ToolInstance(
        id=row.id, name=row.name, connector=row.connector, description=row.description, credential=row.credential,
        config=dict(row.config or {}), defaults=dict(row.defaults or {}),
        created_at=aware(row.created_at), updated_at=aware(row.updated_at),
    )


def _bad(key: str, message: str) -> BadRequestError:
    return BadRequestError(f"body field '{key}': {message}", extra=[{"key": key, "message": message, "source": "body"}])


def _check_parts(registry: ToolRegistry, connector: str, config: dict[str, Any], defaults: dict[str, Any]) -> None:
    try:
        tool = registry.get(connector)
    except UnknownTool:
        raise _bad("connector", f"unknown connector {connector!r}; the connectors are: {', '.join(registry.names())}") from None
    shape = CONNECTION_CONFIGS.get(connector)
    if shape is None and config:
        raise _bad("config", f"connector {connector!r} takes no config (put arguments in 'defaults')")
    if shape is not None:
        try:
            msgspec.convert(config, shape)
        except msgspec.ValidationError as exc:
            raise _bad("config", str(exc)) from None
    fields = set(tool.arguments.__struct_fields__)
    unknown = sorted(set(defaults) - fields)
    if unknown:
        raise _bad("defaults", f"{', '.join(unknown)} not an argument of {connector!r} (arguments: {', '.join(sorted(fields))})")


async def _check_credential(session: AsyncSession, workspace_id: str, name: str | None) -> str | None:
    if not name:
        return None
    found = await session.scalar(sa.select(CredentialRow.name).where(
        CredentialRow.workspace_id == workspace_id, CredentialRow.name == name))
    if found is None:
        raise _bad("credential", f"this workspace has no credential named {name!r} (create it with POST /api/credentials)")
    return found


async def find_row(session: AsyncSession, workspace_id: str, ref: str) -> ToolInstanceRow | None:
    """The workspace's tool instance with id ``ref``, else with name ``ref`` (None if neither)."""
    for column in (ToolInstanceRow.id, ToolInstanceRow.name):
        row = await session.scalar(sa.select(ToolInstanceRow).where(ToolInstanceRow.workspace_id == workspace_id, column == ref))
        if row is not None:
            return row
    return None


async def get_row(session: AsyncSession, workspace_id: str, ref: str) -> ToolInstanceRow:
    row = await find_row(session, workspace_id, ref)
    if row is None:
        raise NotFoundError(f"tool {ref!r} not found")
    return row


def _conflict(name: str) -> ConflictError:
    message = f"a tool named {name!r} already exists"
    return ConflictError(message, extra=[{"key": "name", "message": message, "source": "body"}])


async def create(session: AsyncSession, workspace_id: str, data: ToolInstanceCreate, registry: ToolRegistry) -> ToolInstance:
    _check_parts(registry, data.connector, data.config, data.defaults)
    credential = await _check_credential(session, workspace_id, data.credential)
    if await find_row(session, workspace_id, data.name) is not None:
        raise _conflict(data.name)
    now = utcnow()
    row = ToolInstanceRow(id=new_id("tool"), workspace_id=workspace_id, name=data.name, connector=data.connector,
                          description=data.description, credential=credential, config=data.config, defaults=data.defaults,
                          created_at=now, updated_at=now)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _conflict(data.name) from exc
    return to_instance(row)


async def list_page(session: AsyncSession, workspace_id: str, *, limit: int, offset: int) -> tuple[list[ToolInstance], int]:
    """One page by name and the workspace's total, in one query (the total rides on each row as a
    window count; a second query only for a page past the end, which has no rows to carry it)."""
    where = ToolInstanceRow.workspace_id == workspace_id
    rows = (await session.execute(sa.select(ToolInstanceRow, sa.func.count().over().label("total")).where(where)
                                  .order_by(ToolInstanceRow.name, ToolInstanceRow.id).limit(limit).offset(offset))).all()
    if rows:
        total = rows[0].total
    elif offset:
        total = await session.scalar(sa.select(sa.func.count()).select_from(ToolInstanceRow).where(where)) or 0
    else:
        total = 0
    return [to_instance(row) for row, _ in rows], total


async def update(session: AsyncSession, workspace_id: str, ref: str, data: ToolInstanceUpdate, registry: ToolRegistry) -> ToolInstance:
    row = await get_row(session, workspace_id, ref)
    config = data.config if data.config is not None else row.config
    defaults = data.defaults if data.defaults is not None else row.defaults
    _check_parts(registry, row.connector, config, defaults)
    if data.name is not None and data.name != row.name:
        if await find_row(session, workspace_id, data.name) is not None:
            raise _conflict(data.name)
        row.name = data.name
    if data.credential is not None:
        row.credential = await _check_credential(session, workspace_id, data.credential)
    if data.description is not None:
        row.description = data.description
    row.config, row.defaults = config, defaults
    row.updated_at = utcnow()
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _conflict(row.name) from exc
    return to_instance(row)


async def delete(session: AsyncSession, workspace_id: str, ref: str) -> None:
    await session.delete(await get_row(session, workspace_id, ref))
    await session.flush()
