"""API Structs of data tables (:mod:`pilot.tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

ColumnType = Literal["string", "number", "integer", "boolean", "datetime", "json"]
MAX_COLUMNS = 100
MAX_ROWS_PER_WRITE = 1_000
MAX_PAGE = 1_000

# Column names are identifiers without a leading underscore: `_id`, `_created_at`, `_updated_at`
# are the row's own fields in every answer.
ColumnName = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$", description="an identifier (no leading _)")]
TableName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="an identifier, unique per workspace")]
Description = Annotated[str, Meta(max_length=2_000)]


class Column(Struct, frozen=True, forbid_unknown_fields=True):
    """A typed column. ``required`` columns must be present (and not null) in every row."""

    name: ColumnName
    type: ColumnType = "string"
    required: bool = False
    description: Description = ""


class TableCreate(Struct, forbid_unknown_fields=True):
    """``key_columns`` (optional) identify a row: unique together, used by upserts and key lookups."""

    name: TableName
    columns: Annotated[list[Column], Meta(min_length=1, max_length=MAX_COLUMNS)]
    key_columns: Annotated[list[str], Meta(max_length=8)] = []
    description: Description = ""


class Table(Struct, frozen=True):
    id: str
    name: str
    description: str
    columns: list[Column]
    key_columns: list[str]
    row_count: int
    created_at: datetime
    updated_at: datetime


class TablePage(Struct, frozen=True):
    items: list[Table]
    total: int
    limit: int
    offset: int


class RowsWrite(Struct, forbid_unknown_fields=True):
    """``insert`` adds rows (a taken key is 409); ``upsert`` updates the row with the same key
    columns (the given columns only) or inserts it."""

    rows: Annotated[list[dict[str, Any]], Meta(min_length=1, max_length=MAX_ROWS_PER_WRITE)]
    mode: Literal["insert", "upsert"] = "insert"


class RowsWritten(Struct, frozen=True):
    inserted: int
    updated: int
    rows: list[dict[str, Any]]


class RowPage(Struct, frozen=True):
    """Rows in ``_id`` order; pass ``next_cursor`` back as ``cursor`` for the next page (null: no more)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int
