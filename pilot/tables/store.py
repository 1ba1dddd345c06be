"""Data tables in the product's own database, always scoped to one workspace.

Tables are rows of ``data_tables`` (typed columns, key columns, a row counter); their rows are JSON
documents in one ``data_table_rows`` table (SQLite and PostgreSQL alike). A table with key columns
stores the sha256 of the key values in ``key_hash`` — unique per table — so upserts and key lookups
use that index; filters compile to the dialect's JSON extraction (``json_extract`` / ``->>``).

Writers lock the table's row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers)
before reading keys, so concurrent upserts of one key cannot both insert, and the row counter
enforces ``PILOT_TABLE_MAX_ROWS`` in the same transaction. Another workspace's table is
indistinguishable from a missing one (404).
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError, NotFoundError, UnprocessableError
from pilot.core.ids import aware, new_id, utcnow
from pilot.db.models import DataTableRecordRow, DataTableRow
from pilot.settings import ToolSettings
from pilot.tables.schemas import Column, RowsWritten, Table, TableCreate
from pilot.tables.values import Condition, check_row, key_hash

Rec = DataTableRecordRow


class TableNotFound(NotFoundError):
    """No table with that id or name in the workspace."""


def _table(row: DataTableRow) -> Table:
    return Table(
        id=row.id, name=row.name, description=row.description,
        columns=msgspec.convert(row.columns, list[Column]), key_columns=list(row.key_columns), row_count=row.row_count,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at),
    )


def columns_of(row: DataTableRow) -> dict[str, Column]:
    return {c.name: c for c in msgspec.convert(row.columns, list[Column])}


def present(rec: DataTableRecordRow) -> dict[str, Any]:
    """A stored row as answers show it: ``_id`` then the column values."""
    return {"_id": rec.id, **rec.data, "_created_at": aware(rec.created_at).isoformat(),
            "_updated_at": aware(rec.updated_at).isoformat()}


async def create_table(session: AsyncSession, workspace_id: str, data: TableCreate, limits: ToolSettings) -> Table:
    names = [c.name for c in data.columns]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise UnprocessableError(f"columns: column '{duplicate}' is declared twice", extra=[{"key": "columns"}])
    for key in data.key_columns:
        column = next((c for c in data.columns if c.name == key), None)
        if column is None:
            raise UnprocessableError(f"key_columns: '{key}' is not one of the columns", extra=[{"key": "key_columns"}])
        if column.type == "json":
            raise UnprocessableError(f"key_columns: '{key}' is a json column; keys are scalar", extra=[{"key": "key_columns"}])
    if len(set(data.key_columns)) != len(data.key_columns):
        raise UnprocessableError("key_columns: a column is listed twice", extra=[{"key": "key_columns"}])
    count = await session.scalar(sa.select(sa.func.count()).select_from(DataTableRow).where(DataTableRow.workspace_id == workspace_id))
    if (count or 0) >= limits.tables_per_workspace:
        raise ConflictError(f"this workspace already has {count} tables, the limit (PILOT_TABLES_PER_WORKSPACE)")
    if await session.scalar(sa.select(DataTableRow.id).where(DataTableRow.workspace_id == workspace_id, DataTableRow.name == data.name)):
        raise ConflictError(f"a table named {data.name!r} already exists", extra=[{"key": "name"}])
    # Key columns are required: a row without its key could never be found by it.
    columns = [msgspec.structs.replace(c, required=True) if c.name in data.key_columns else c for c in data.columns]
    now = utcnow()
    row = DataTableRow(
        id=new_id("tbl"), workspace_id=workspace_id, name=data.name, description=data.description,
        columns=msgspec.to_builtins(columns), key_columns=list(data.key_columns), row_count=0, created_at=now, updated_at=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"a table named {data.name!r} already exists", extra=[{"key": "name"}]) from exc
    return _table(row)


async def list_tables(session: AsyncSession, workspace_id: str, *, limit: int, offset: int) -> tuple[list[Table], int]:
    where = DataTableRow.workspace_id == workspace_id
    total = await session.scalar(sa.select(sa.func.count()).select_from(DataTableRow).where(where)) or 0
    rows = (await session.scalars(sa.select(DataTableRow).where(where).order_by(DataTableRow.name).limit(limit).offset(offset))).all()
    return [_table(r) for r in rows], total


async def table_row(session: AsyncSession, workspace_id: str, ref: str, *, lock: bool = False) -> DataTableRow:
    """The table with id (or else name) ``ref`` in the workspace; ``lock`` for writers."""
    for column in (DataTableRow.id, DataTableRow.name):
        stmt = sa.select(DataTableRow).where(DataTableRow.workspace_id == workspace_id, column == ref)
        row = await session.scalar(stmt.with_for_update() if lock else stmt)
        if row is not None:
            return row
    raise TableNotFound(f"table {ref!r} not found")


async def get_table(session: AsyncSession, workspace_id: str, ref: str) -> Table:
    return _table(await table_row(session, workspace_id, ref))


async def delete_table(session: AsyncSession, workspace_id: str, ref: str) -> None:
    row = await table_row(session, workspace_id, ref, lock=True)
    await session.execute(sa.delete(Rec).where(Rec.table_id == row.id))
    await session.delete(row)
    await session.flush()


def _clause(cond: Condition) -> Any:
    element = Rec.data[cond.column.name]
    if cond.op in ("is_null", "not_null"):  # a missing column and a JSON null both extract as SQL NULL
        return element.as_string().is_(None) if cond.op == "is_null" else element.as_string().is_not(None)
    kind = cond.column.type
    # Integers are within ±2^53 (pilot.tables.values), so a double compares them exactly — and,
    # unlike as_integer() (CAST AS INTEGER: 32 bits on PostgreSQL), never overflows.
    typed = (element.as_float() if kind in ("number", "integer") else element.as_boolean() if kind == "boolean"
             else element.as_string())
    if cond.op == "contains":
        return typed.icontains(cond.value, autoescape=True)
    if cond.op == "in":
        return typed.in_(cond.value)
    ops = {"eq": typed.__eq__, "ne": typed.__ne__, "gt": typed.__gt__, "gte": typed.__ge__, "lt": typed.__lt__, "lte": typed.__le__}
    clause = ops[cond.op](cond.value)
    return sa.or_(clause, typed.is_(None)) if cond.op == "ne" else clause


async def find_rows(
    session: AsyncSession, table: DataTableRow, conditions: list[Condition], *, limit: int, cursor: int | None = None,
    key: str | None = None,
) -> tuple[list[DataTableRecordRow], int | None]:
    """Matching rows in ``_id`` order after ``cursor``, and the next cursor (None: no more)."""
    stmt = sa.select(Rec).where(Rec.table_id == table.id, *(_clause(c) for c in conditions))
    if key is not None:
        stmt = stmt.where(Rec.key_hash == key)
    if cursor is not None:
        stmt = stmt.where(Rec.id > cursor)
    rows = list((await session.scalars(stmt.order_by(Rec.id).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def _full(table: DataTableRow, added: int, limits: ToolSettings) -> None:
    if table.row_count + added > limits.table_max_rows:
        raise ConflictError(
            f"table {table.name!r} would hold {table.row_count + added} rows, over the limit of "
            f"{limits.table_max_rows} (PILOT_TABLE_MAX_ROWS)"
        )


async def write_rows(
    session: AsyncSession, table: DataTableRow, rows: list[Any], mode: str, limits: ToolSettings, where: str = "rows",
) -> RowsWritten:
    """Insert (a taken key is 409) or upsert (merge the given columns into the row with the same
    key) ``rows``; the caller holds the table locked (``table_row(..., lock=True)``)."""
    columns, keys = columns_of(table), list(table.key_columns)
    if mode == "upsert" and not keys:
        raise UnprocessableError(f"table {table.name!r} has no key columns: upsert needs them (use insert)")
    checked = [check_row(columns, r, f"{where}[{i}]", max_bytes=limits.table_max_row_bytes) for i, r in enumerate(rows)]
    hashes = [key_hash(columns, keys, r, f"{where}[{i}]") for i, r in enumerate(checked)]
    seen: dict[str, int] = {}
    for i, h in enumerate(hashes):
        if h is not None and h in seen and mode == "insert":
            raise ConflictError(f"{where}[{i}]: same key as {where}[{seen[h]}] ({', '.join(keys)})")
        if h is not None:
            seen.setdefault(h, i)
    existing: dict[str, DataTableRecordRow] = {}
    wanted = [h for h in hashes if h is not None]
    for start in range(0, len(wanted), 500):
        found = await session.scalars(sa.select(Rec).where(Rec.table_id == table.id, Rec.key_hash.in_(wanted[start:start + 500])))
        existing.update({r.key_hash: r for r in found if r.key_hash})
    if mode == "insert" and existing:
        i = next(i for i, h in enumerate(hashes) if h in existing)
        shown = ", ".join(f"{k}={checked[i][k]!r}" for k in keys)
        raise ConflictError(f"{where}[{i}]: a row with key {shown} already exists (use upsert to update it)")
    now, out, inserted, updated = utcnow(), [], 0, 0
    for i, (data, h) in enumerate(zip(checked, hashes)):
        rec = existing.get(h) if h is not None else None
        if rec is None:
            rec = Rec(table_id=table.id, key_hash=h, data=data, created_at=now, updated_at=now)
            session.add(rec)
            if h is not None:
                existing[h] = rec  # a later row with the same key updates this one
            inserted += 1
        else:
            merged = check_row(columns, {**rec.data, **data}, f"{where}[{i}]", max_bytes=limits.table_max_row_bytes)
            rec.data, rec.updated_at = merged, now
            updated += 1
        out.append(rec)
    _full(table, inserted, limits)
    table.row_count += inserted
    table.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:  # a key taken by a writer this lock did not cover (should not happen)
        raise ConflictError(f"{where}: a row with the same key was written concurrently; retry") from exc
    return RowsWritten(inserted=inserted, updated=updated, rows=[present(r) for r in out])


async def update_rows(
    session: AsyncSession, table: DataTableRow, conditions: list[Condition], changes: Any, limits: ToolSettings,
    *, key: str | None = None,
) -> int:
    """Set ``changes`` (validated column values) on every matching row; returns how many."""
    columns, keys = columns_of(table), list(table.key_columns)
    patch = check_row(columns, changes, "set", partial=True)
    if not patch:
        raise UnprocessableError("set: give at least one column value to change")
    rows, _ = await find_rows(session, table, conditions, limit=limits.table_max_rows, key=key)
    now = utcnow()
    for rec in rows:
        rec.data = check_row(columns, {**rec.data, **patch}, f"row {rec.id}", max_bytes=limits.table_max_row_bytes)
        rec.key_hash = key_hash(columns, keys, rec.data, f"row {rec.id}")
        rec.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"set: the change gives two rows the same key ({', '.join(keys)})") from exc
    return len(rows)


async def delete_rows(session: AsyncSession, table: DataTableRow, conditions: list[Condition], *, key: str | None = None) -> int:
    stmt = sa.select(Rec.id).where(Rec.table_id == table.id, *(_clause(c) for c in conditions))
    if key is not None:
        stmt = stmt.where(Rec.key_hash == key)
    ids = list((await session.scalars(stmt)).all())
    for start in range(0, len(ids), 500):
        await session.execute(sa.delete(Rec).where(Rec.id.in_(ids[start:start + 500])))
    table.row_count = max(0, table.row_count - len(ids))
    table.updated_at = utcnow()
    await session.flush()
    return len(ids)
