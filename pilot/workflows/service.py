"""Workflow persistence and lifecycle, independent of HTTP.

``WorkflowService(session, workspace_id)`` is the one way any domain reads or writes
workflows (the API, generation saving a generated workflow, chat editing one, the engine
loading one to run). Every query is scoped to the workspace: another workspace's workflow is
indistinguishable from a missing one (NotFoundError → 404).

Versioning: the ``workflows`` row is the head (current version); ``workflow_versions`` keeps a
snapshot of every version. A draft head is edited in place (its snapshot follows it); a
published version is immutable, so updating a published workflow starts a new draft version
(``version + 1``) and leaves the published snapshot untouched. Publishing validates the graph
and freezes the current version.

The service flushes but never commits: the caller owns the transaction (the API's request
session commits on success and rolls back on error, so a rejected update changes nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError, NotFoundError
from pilot.core.ids import aware, utcnow
from pilot.db.models import WorkflowRow, WorkflowVersionRow
from pilot.workflows.calls import check_call_cycles
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import Position, Workflow, WorkflowGraph, graph_from_builtins
from pilot.workflows.schemas import WorkflowPage, WorkflowQuery, WorkflowVersion, WorkflowVersionPage
from pilot.workflows.validation import ValidationReport, ensure_valid, validate_data

_ORDER_COLUMNS = {"created_at": WorkflowRow.created_at, "updated_at": WorkflowRow.updated_at, "name": WorkflowRow.name}
_NO_POSITION = Position()




def _bound(value: datetime) -> datetime:
    """A filter bound in UTC (naive input is taken as UTC), comparable on SQLite and PostgreSQL."""
    return aware(value)


def _graph_dict(graph: WorkflowGraph) -> dict[str, Any]:
    return msgspec.to_builtins(graph)


def _prepare(graph: WorkflowGraph | dict[str, Any]) -> WorkflowGraph:
    """Validate (422 listing every problem) and lay out graphs nobody positioned yet."""
    valid = ensure_valid(graph)
    if valid.nodes and all(node.position == _NO_POSITION for node in valid.nodes):
        valid = apply_layout(valid)
    return valid


def row_to_workflow(row: WorkflowRow) -> Workflow:
    graph = graph_from_builtins(row.graph)
    return Workflow(
        id=row.id,
        name=row.name,
        description=row.description,
        template_id=row.template_id,
        version=row.version,
        status=row.status,  # type: ignore[arg-type]
        nodes=graph.nodes,
        edges=graph.edges,
        settings=graph.settings,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _row_to_version(row: WorkflowVersionRow) -> WorkflowVersion:
    graph = graph_from_builtins(row.graph)
    return WorkflowVersion(
        workflow_id=row.workflow_id,
        version=row.version,
        status=row.status,  # type: ignore[arg-type]
        name=row.name,
        description=row.description,
        nodes=graph.nodes,
        edges=graph.edges,
        settings=graph.settings,
        created_at=aware(row.created_at),
    )


class WorkflowService:
    """Workspace-scoped workflow repository and lifecycle (create, update, version, publish)."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    # ------------------------------------------------------------ reads

    async def _row(self, workflow_id: str, *, for_update: bool = False) -> WorkflowRow:
        stmt = sa.select(WorkflowRow).where(WorkflowRow.id == workflow_id, WorkflowRow.workspace_id == self.workspace_id)
        if for_update:
            stmt = stmt.with_for_update()  # PostgreSQL serialises concurrent edits; SQLite ignores it
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"workflow '{workflow_id}' not found")
        return row

    async def get(self, workflow_id: str) -> Workflow:
        """The workflow's head (current version); NotFoundError outside this workspace."""
        return row_to_workflow(await self._row(workflow_id))

    async def list(self, query: WorkflowQuery | None = None) -> WorkflowPage:
        """A filtered, ordered page of the workspace's workflows plus the total match count."""
        q = query or WorkflowQuery()
        conditions: list[Any] = [WorkflowRow.workspace_id == self.workspace_id]
        if q.status is not None:
            conditions.append(WorkflowRow.status == q.status)
        if q.template_id is not None:
            conditions.append(WorkflowRow.template_id == q.template_id)
        if q.name:
            # Case-insensitive "contains"; LIKE wildcards in the user's text are matched literally.
            escaped = q.name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(sa.func.lower(WorkflowRow.name).like(f"%{escaped}%", escape="\\"))
        if q.created_after is not None:
            conditions.append(WorkflowRow.created_at >= _bound(q.created_after))
        if q.created_before is not None:
            conditions.append(WorkflowRow.created_at < _bound(q.created_before))
        if q.updated_after is not None:
            conditions.append(WorkflowRow.updated_at >= _bound(q.updated_after))
        if q.updated_before is not None:
            conditions.append(WorkflowRow.updated_at < _bound(q.updated_before))
        where = sa.and_(*conditions)
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(WorkflowRow).where(where))).scalar_one()
        column = _ORDER_COLUMNS[q.order_by]
        direction = sa.desc if q.order == "desc" else sa.asc
        # The id tie-breaker keeps pages stable when many rows share a timestamp or name.
        stmt = sa.select(WorkflowRow).where(where).order_by(direction(column), direction(WorkflowRow.id))
        rows = (await self.session.execute(stmt.limit(q.limit).offset(q.offset))).scalars().all()
        return WorkflowPage(items=[row_to_workflow(r) for r in rows], total=total, limit=q.limit, offset=q.offset)

    async def versions(self, workflow_id: str, *, limit: int = 50, offset: int = 0) -> WorkflowVersionPage:
        """Every saved version of a workflow, newest first."""
        await self._row(workflow_id)
        where = WorkflowVersionRow.workflow_id == workflow_id
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(WorkflowVersionRow).where(where))).scalar_one()
        stmt = sa.select(WorkflowVersionRow).where(where).order_by(WorkflowVersionRow.version.desc()).limit(limit).offset(offset)
        rows = (await self.session.execute(stmt)).scalars().all()
        return WorkflowVersionPage(items=[_row_to_version(r) for r in rows], total=total, limit=limit, offset=offset)

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion:
        await self._row(workflow_id)
        row = await self._version_row(workflow_id, version)
        if row is None:
            raise NotFoundError(f"workflow '{workflow_id}' has no version {version}")
        return _row_to_version(row)

    async def _version_row(self, workflow_id: str, version: int) -> WorkflowVersionRow | None:
        stmt = sa.select(WorkflowVersionRow).where(
            WorkflowVersionRow.workflow_id == workflow_id, WorkflowVersionRow.version == version
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # ------------------------------------------------------------ writes

    async def create(
        self,
        *,
        name: str,
        graph: WorkflowGraph | dict[str, Any],
        description: str = "",
        template_id: str | None = None,
    ) -> Workflow:
        """Validate and store a new workflow as version 1 (draft). Raises GraphValidationError (422)."""
        valid = _prepare(graph)
        await check_call_cycles(self.session, self.workspace_id, None, valid)
        now = utcnow()
        data = _graph_dict(valid)
        row = WorkflowRow(
            workspace_id=self.workspace_id,
            name=name,
            description=description,
            template_id=template_id,
            status="draft",
            version=1,
            graph=data,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        self.session.add(
            WorkflowVersionRow(workflow_id=row.id, version=1, status="draft", name=name, description=description, graph=data, created_at=now)
        )
        await self.session.flush()
        return row_to_workflow(row)

    async def update(
        self,
        workflow_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        template_id: str | None = None,
        graph: WorkflowGraph | dict[str, Any] | None = None,
        nodes: list[Any] | None = None,
        edges: list[Any] | None = None,
        settings: dict[str, Any] | None = None,
        base_version: int | None = None,
        new_version: bool = False,
    ) -> Workflow:
        """Change a workflow; ``None`` keeps a field. A published head gets a new draft version;
        ``new_version=True`` also snapshots a draft as a new version (chat edits use it for undo).

        Give either a whole ``graph`` or any of raw ``nodes``/``edges``/``settings`` (the parts
        left out keep their stored value); the resulting graph must validate.

        Raises GraphValidationError (422) for an invalid graph and ConflictError (409) when
        ``base_version`` is given and is not the current version. Nothing is written on error."""
        row = await self._row(workflow_id, for_update=True)
        if base_version is not None and base_version != row.version:
            raise ConflictError(
                f"workflow '{workflow_id}' is at version {row.version}, not {base_version}: reload and retry",
                extra={"current_version": row.version},
            )
        if graph is None and (nodes is not None or edges is not None or settings is not None):
            stored = row.graph
            graph = {
                "nodes": nodes if nodes is not None else stored.get("nodes", []),
                "edges": edges if edges is not None else stored.get("edges", []),
                "settings": settings if settings is not None else stored.get("settings", {}),
            }
        # Validate before touching the row, so a rejected update leaves it exactly as it was.
        prepared = _prepare(graph) if graph is not None else None
        if prepared is not None:  # sub-workflow calls may not recurse (422 naming the node)
            await check_call_cycles(self.session, self.workspace_id, workflow_id, prepared)
        data = _graph_dict(prepared) if prepared is not None else row.graph
        changed = (
            (name is not None and name != row.name)
            or (description is not None and description != row.description)
            or (template_id is not None and template_id != row.template_id)
            or data != row.graph
        )
        if not changed:  # a no-op never bumps a version or the timestamp
            return row_to_workflow(row)
        now = utcnow()
        snapshot = None if row.status == "published" or new_version else await self._version_row(workflow_id, row.version)
        # A published snapshot is never rewritten, also after unpublishing: edits start a new version.
        if row.status == "published" or new_version or (snapshot is not None and snapshot.status == "published"):
            row.version += 1
            row.status = "draft"
            snapshot = None
        if name is not None:
            row.name = name
        if description is not None:
            row.description = description
        if template_id is not None:
            row.template_id = template_id
        row.graph = data
        row.updated_at = now
        if snapshot is None:
            self.session.add(
                WorkflowVersionRow(
                    workflow_id=row.id, version=row.version, status="draft", name=row.name,
                    description=row.description, graph=data, created_at=now,
                )
            )
        else:
            snapshot.name, snapshot.description, snapshot.graph = row.name, row.description, data
        try:
            await self.session.flush()
        except sa.exc.IntegrityError:
            # Two writers both started version n+1 (SQLite has no row locks): the loser retries.
            raise ConflictError(f"workflow '{workflow_id}' was changed concurrently: reload and retry") from None
        return row_to_workflow(row)

    async def restore(self, workflow_id: str, version: int) -> Workflow:
        """Make an earlier version current again, as a new draft version (history is kept, so a
        restore can itself be undone)."""
        await self._row(workflow_id)
        old = await self._version_row(workflow_id, version)
        if old is None:
            raise NotFoundError(f"workflow '{workflow_id}' has no version {version}")
        return await self.update(workflow_id, name=old.name, description=old.description, graph=old.graph, new_version=True)

    async def delete(self, workflow_id: str) -> None:
        """Delete a workflow with its versions (and, by cascade, its executions)."""
        row = await self._row(workflow_id)
        await self.session.execute(sa.delete(WorkflowVersionRow).where(WorkflowVersionRow.workflow_id == row.id))
        await self.session.delete(row)
        await self.session.flush()

    async def validate(self, workflow_id: str) -> ValidationReport:
        """Validate the stored head graph: the report lists problems and parallel levels."""
        row = await self._row(workflow_id)
        return validate_data(row.graph)[1]

    async def row(self, workflow_id: str) -> WorkflowRow:
        """The head row (for domains that act on publishing, such as triggers)."""
        return await self._row(workflow_id)

    async def unpublish(self, workflow_id: str) -> Workflow:
        """Return a published head to draft (its snapshot stays published history). No-op on drafts."""
        row = await self._row(workflow_id, for_update=True)
        if row.status == "published":
            row.status = "draft"
            row.updated_at = utcnow()
            await self.session.flush()
        return row_to_workflow(row)

    async def publish(self, workflow_id: str) -> Workflow:
        """Freeze the current version (it must validate). Publishing twice is a no-op."""
        row = await self._row(workflow_id, for_update=True)
        if row.status == "published":
            return row_to_workflow(row)
        await check_call_cycles(self.session, self.workspace_id, workflow_id, ensure_valid(row.graph))
        snapshot = await self._version_row(workflow_id, row.version)
        row.status = "published"
        row.updated_at = utcnow()
        if snapshot is None:  # defensive: heads written before versioning existed
            self.session.add(
                WorkflowVersionRow(
                    workflow_id=row.id, version=row.version, status="published", name=row.name,
                    description=row.description, graph=row.graph, created_at=row.updated_at,
                )
            )
        else:
            snapshot.status = "published"
            snapshot.name, snapshot.description, snapshot.graph = row.name, row.description, row.graph
        await self.session.flush()
        return row_to_workflow(row)
