"""HTTP API of data tables: ``/api/tables`` and ``/api/tables/{id}/rows`` (workspace-scoped)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from pilot.core.errors import BadRequestError
from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.tables import store
from pilot.tables.schemas import MAX_PAGE, RowPage, RowsWrite, RowsWritten, Table, TableCreate, TablePage
from pilot.tables.values import parse_where

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
RowLimit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description=f"rows per page (1..{MAX_PAGE})")]
Offset = Annotated[int, Parameter(ge=0, le=2**31 - 1)]


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or int(cursor) > 2**63 - 1:
        raise BadRequestError("query parameter 'cursor': use the next_cursor of the previous page",
                              extra=[{"key": "cursor", "source": "query", "message": "not a cursor"}])
    return int(cursor)


class TableController(Controller):
    """Workspace data tables: typed columns, optional key columns, rows stored as JSON."""

    path = "/api/tables"
    tags = ("tables",)

    @post("/")
    async def create_table(self, data: JSONBody[TableCreate], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> Table:
        """Create a table (201); the name is unique per workspace (409). Key columns are required columns."""
        return await store.create_table(db, workspace.id, data, runtime.settings.tools)

    @get("/")
    async def list_tables(
        self, db: DbSession, workspace: CurrentWorkspace, limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0,
    ) -> TablePage:
        """The workspace's tables by name, with their row counts."""
        items, total = await store.list_tables(db, workspace.id, limit=limit, offset=offset)
        return TablePage(items=items, total=total, limit=limit, offset=offset)

    @get("/{table_id:str}")
    async def get_table(self, table_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> Table:
        """One table, by id or by name."""
        return await store.get_table(db, workspace.id, table_id)

    @delete("/{table_id:str}", status_code=204)
    async def delete_table(self, table_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete a table and all its rows."""
        await store.delete_table(db, workspace.id, table_id)

    @get("/{table_id:str}/rows")
    async def list_rows(
        self, table_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
        where: FromQuery[list[str] | None] = None, limit: FromQuery[RowLimit] = 100, cursor: FromQuery[str | None] = None,
    ) -> RowPage:
        """Rows in ``_id`` order. Filters: repeated ``where=<column>:<op>[:<value>]`` (all must hold),
        ops ``eq ne gt gte lt lte in contains is_null not_null`` (``in`` takes comma-separated
        values); page with ``limit`` and the answer's ``next_cursor`` as ``cursor``."""
        table = await store.table_row(db, workspace.id, table_id)
        conditions = parse_where(store.columns_of(table), where or [])
        rows, next_cursor = await store.find_rows(db, table, conditions, limit=limit, cursor=_cursor(cursor))
        return RowPage(items=[store.present(r) for r in rows], next_cursor=None if next_cursor is None else str(next_cursor), limit=limit)

    @post("/{table_id:str}/rows")
    async def write_rows(
        self, table_id: FromPath[str], data: JSONBody[RowsWrite], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep,
    ) -> RowsWritten:
        """Insert or upsert (``mode``) up to 1000 rows at once, all or nothing: a value of the wrong
        type is 422 naming the row and column, a taken key on insert 409, a full table 409."""
        table = await store.table_row(db, workspace.id, table_id, lock=True)
        return await store.write_rows(db, table, data.rows, data.mode, runtime.settings.tools)
