"""Agent definitions in the database, always scoped to one workspace (another workspace's agent is
a 404). Versioned like workflows, without the draft/publish step: the ``agents`` row is the head,
``agent_versions`` keeps every version, and any change (also a restore) makes version ``n + 1``;
a no-op update changes nothing. The functions flush, the request session commits.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.agents.schemas import CONFIG_FIELDS, Agent, AgentCreate, AgentPage, AgentUpdate, AgentVersion, AgentVersionPage
from pilot.agents.toolset import ref_problem
from pilot.core.errors import BadRequestError, ConflictError, NotFoundError
from pilot.core.ids import aware, new_id, utcnow
from pilot.db.models import AgentRow, AgentVersionRow


def _check_tools(tools: list[str]) -> None:
    for index, ref in enumerate(tools):
        problem = ref_problem(ref)
        if problem:
            key = f"tools[{index}]"
            raise BadRequestError(f"body field '{key}': {problem}", extra=[{"key": key, "message": problem, "source": "body"}])


def _agent(row: AgentRow) -> Agent:
    config = row.config or {}
    defaults = AgentCreate(name="-")
    values = {name: config.get(name, getattr(defaults, name)) for name in CONFIG_FIELDS}
    return Agent(id=row.id, name=row.name, description=row.description, version=row.version, **values,
                 created_at=aware(row.created_at), updated_at=aware(row.updated_at))


def _version(row: AgentVersionRow) -> AgentVersion:
    return AgentVersion(agent_id=row.agent_id, version=row.version, name=row.name, description=row.description,
                        config=dict(row.config or {}), created_at=aware(row.created_at))


async def _row(session: AsyncSession, workspace_id: str, agent_id: str) -> AgentRow:
    row = await session.scalar(sa.select(AgentRow).where(AgentRow.id == agent_id, AgentRow.workspace_id == workspace_id))
    if row is None:
        raise NotFoundError(f"agent '{agent_id}' not found")
    return row


async def _version_row(session: AsyncSession, agent_id: str, version: int) -> AgentVersionRow | None:
    return await session.scalar(sa.select(AgentVersionRow).where(AgentVersionRow.agent_id == agent_id,
                                                                  AgentVersionRow.version == version))


def _snapshot(row: AgentRow) -> AgentVersionRow:
    return AgentVersionRow(agent_id=row.id, version=row.version, name=row.name, description=row.description,
                           config=dict(row.config), created_at=row.updated_at)


async def create(session: AsyncSession, workspace_id: str, data: AgentCreate) -> Agent:
    _check_tools(data.tools)
    now = utcnow()
    config = {name: msgspec.to_builtins(getattr(data, name)) for name in CONFIG_FIELDS}
    row = AgentRow(id=new_id("agent"), workspace_id=workspace_id, name=data.name, description=data.description,
                   version=1, config=config, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    session.add(_snapshot(row))
    await session.flush()
    return _agent(row)


async def get(session: AsyncSession, workspace_id: str, agent_id: str) -> Agent:
    return _agent(await _row(session, workspace_id, agent_id))


async def list_page(session: AsyncSession, workspace_id: str, *, limit: int, offset: int) -> AgentPage:
    where = AgentRow.workspace_id == workspace_id
    total = await session.scalar(sa.select(sa.func.count()).select_from(AgentRow).where(where)) or 0
    rows = (await session.scalars(sa.select(AgentRow).where(where).order_by(AgentRow.name, AgentRow.id)
                                  .limit(limit).offset(offset))).all()
    return AgentPage(items=[_agent(r) for r in rows], total=total, limit=limit, offset=offset)


async def _change(session: AsyncSession, row: AgentRow, name: str, description: str, config: dict[str, Any]) -> Agent:
    if name == row.name and description == row.description and config == row.config:
        return _agent(row)  # a no-op never makes a version
    row.version += 1
    row.name, row.description, row.config = name, description, config
    row.updated_at = utcnow()
    session.add(_snapshot(row))
    try:
        await session.flush()
    except sa.exc.IntegrityError:
        raise ConflictError(f"agent '{row.id}' was changed concurrently: reload and retry") from None
    return _agent(row)


async def update(session: AsyncSession, workspace_id: str, agent_id: str, data: AgentUpdate) -> Agent:
    row = await _row(session, workspace_id, agent_id)
    if data.base_version is not None and data.base_version != row.version:
        raise ConflictError(f"agent '{agent_id}' is at version {row.version}, not {data.base_version}: reload and retry",
                            extra={"current_version": row.version})
    if data.tools is not None:
        _check_tools(data.tools)
    current = _agent(row)
    config = {name: msgspec.to_builtins(getattr(current, name)) for name in CONFIG_FIELDS}
    for name in CONFIG_FIELDS:
        value = getattr(data, name)
        if value is not None:
            config[name] = msgspec.to_builtins(value)
    return await _change(session, row, data.name if data.name is not None else row.name,
                         data.description if data.description is not None else row.description, config)


async def delete(session: AsyncSession, workspace_id: str, agent_id: str) -> None:
    row = await _row(session, workspace_id, agent_id)
    await session.execute(sa.delete(AgentVersionRow).where(AgentVersionRow.agent_id == row.id))
    await session.delete(row)
    await session.flush()


async def versions(session: AsyncSession, workspace_id: str, agent_id: str, *, limit: int, offset: int) -> AgentVersionPage:
    await _row(session, workspace_id, agent_id)
    where = AgentVersionRow.agent_id == agent_id
    total = await session.scalar(sa.select(sa.func.count()).select_from(AgentVersionRow).where(where)) or 0
    rows = (await session.scalars(sa.select(AgentVersionRow).where(where).order_by(AgentVersionRow.version.desc())
                                  .limit(limit).offset(offset))).all()
    return AgentVersionPage(items=[_version(r) for r in rows], total=total, limit=limit, offset=offset)


async def get_version(session: AsyncSession, workspace_id: str, agent_id: str, version: int) -> AgentVersion:
    await _row(session, workspace_id, agent_id)
    row = await _version_row(session, agent_id, version)
    if row is None:
        raise NotFoundError(f"agent '{agent_id}' has no version {version}")
    return _version(row)


async def restore(session: AsyncSession, workspace_id: str, agent_id: str, version: int) -> Agent:
    """Make an earlier version current again, as a new version (history is kept)."""
    row = await _row(session, workspace_id, agent_id)
    old = await _version_row(session, agent_id, version)
    if old is None:
        raise NotFoundError(f"agent '{agent_id}' has no version {version}")
    return await _change(session, row, old.name, old.description, dict(old.config))


async def definition(session: AsyncSession, workspace_id: str, ref: str) -> tuple[dict[str, Any], str, int]:
    """``(config, agent id, version)`` for an agent node's ``agent_id`` (``<id>`` or ``<id>@<n>``)."""
    agent_id, sep, pinned = ref.partition("@")
    row = await _row(session, workspace_id, agent_id)
    if not sep or not pinned.strip():
        return dict(row.config or {}), row.id, row.version
    try:
        version = int(pinned)
    except ValueError:
        raise NotFoundError(f"agent '{ref}': the version after '@' must be a number") from None
    snapshot = await _version_row(session, row.id, version)
    if snapshot is None:
        raise NotFoundError(f"agent '{agent_id}' has no version {version}")
    return dict(snapshot.config or {}), row.id, version
