"""The ``table`` tool: a ``tool`` node connector and the agent resolver of ``table:<id>`` references.

``tool: "table"`` with ``arguments: {table, op, ...}``:

- ``insert`` ``{rows: [...]}`` or ``{row: {...}}`` → ``{inserted, updated: 0, rows}``;
- ``upsert`` (by the table's key columns; the given columns are merged into an existing row) → ``{inserted, updated, rows}``;
- ``find`` ``{filter?, key?, limit?, cursor?}`` → ``{rows, count, next_cursor}``;
- ``update`` ``{filter | key, set: {...}}`` → ``{updated}``;
- ``delete`` ``{filter | key}`` → ``{deleted}``.

``table`` is the table's id or name in the run's workspace (another workspace's answers "not
found", like a missing one). ``key`` is ``{key column: value}`` (all key columns) and uses the
key index; ``filter`` is the JSON filter language of :mod:`pilot.tables.values`. ``update`` and
``delete`` need a filter or a key (an empty filter would touch every row). An agent node's
``table:<id>`` gets one function per operation, with the table's columns in their schemas.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct

from pilot.agents.toolset import AgentTool, register_resolver
from pilot.core.errors import PilotError
from pilot.engine.errors import NodeError
from pilot.settings import Settings
from pilot.tables import store
from pilot.tables.schemas import MAX_PAGE, MAX_ROWS_PER_WRITE, Column
from pilot.tables.values import check_value, key_hash, parse_filter
from pilot.tools.base import ToolContext, ToolError

Op = Literal["insert", "upsert", "find", "update", "delete"]
_WRITES = ("insert", "upsert", "update", "delete")


class TableArgs(Struct, forbid_unknown_fields=True):
    table: Annotated[str, Meta(min_length=1, max_length=64)]
    op: Op
    row: dict[str, Any] | None = None
    rows: Annotated[list[dict[str, Any]], Meta(max_length=MAX_ROWS_PER_WRITE)] | None = None
    key: dict[str, Any] | None = None
    filter: dict[str, Any] | None = None
    set: dict[str, Any] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 100
    cursor: str | None = None


def _key(table: Any, key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    columns, keys = store.columns_of(table), list(table.key_columns)
    if not keys:
        raise ToolError(f"key: table {table.name!r} has no key columns; use filter")
    extra = sorted(set(key) - set(keys))
    if extra:
        raise ToolError(f"key: {', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not key columns ({', '.join(keys)})")
    values = {name: check_value(Column(name=name, type=columns[name].type), key.get(name), f"key.{name}") for name in key}
    return key_hash(columns, keys, values, "key")


async def run_table_op(sessions: Any, settings: Settings, workspace_id: str, args: TableArgs) -> Any:
    """Run one table operation in its own transaction (committed when it succeeds)."""
    if sessions is None or not workspace_id:
        raise ToolError("the table tool needs a workflow run (database and workspace)")
    limits = settings.tools
    try:
        async with sessions() as session:
            table = await store.table_row(session, workspace_id, args.table, lock=args.op in _WRITES)
            key = _key(table, args.key)
            conditions = parse_filter(store.columns_of(table), args.filter)
            if args.op in ("insert", "upsert"):
                rows = args.rows if args.rows is not None else [args.row] if args.row is not None else None
                if not rows:
                    raise ToolError(f"{args.op} needs 'rows' (a list of row objects) or 'row'")
                result: Any = msgspec.to_builtins(await store.write_rows(session, table, rows, args.op, limits))
            elif args.op == "find":
                cursor = int(args.cursor) if args.cursor and args.cursor.isdigit() else None
                found, more = await store.find_rows(session, table, conditions, limit=args.limit, cursor=cursor, key=key)
                result = {"rows": [store.present(r) for r in found], "count": len(found),
                          "next_cursor": None if more is None else str(more)}
            else:
                if not conditions and key is None:
                    raise ToolError(f"{args.op} needs a 'filter' or a 'key' (it would touch every row)")
                if args.op == "update":
                    result = {"updated": await store.update_rows(session, table, conditions, args.set or {}, limits, key=key)}
                else:
                    result = {"deleted": await store.delete_rows(session, table, conditions, key=key)}
            await session.commit()
            return result
    except PilotError as exc:
        raise ToolError(f"table {args.table!r}: {exc.detail}" if args.table not in exc.detail else exc.detail) from exc


class TableTool:
    """``tool: "table"`` — read and write the workspace's data tables."""

    name: ClassVar[str] = "table"
    description: ClassVar[str] = "Insert, upsert (by key columns), find, update or delete rows of a workspace data table."
    arguments: ClassVar[type[Struct]] = TableArgs

    def configured(self, settings: Settings) -> bool:
        return True

    async def call(self, args: TableArgs, ctx: ToolContext) -> Any:
        return await run_table_op(ctx.sessions, ctx.settings, ctx.workspace_id or "", args)


# ---------------------------------------------------------------- agent functions

_JSON = {"string": {"type": "string"}, "number": {"type": "number"}, "integer": {"type": "integer"},
         "boolean": {"type": "boolean"}, "datetime": {"type": "string", "format": "date-time"}, "json": {}}
_FILTER_HELP = ('Conditions that must all hold: {"column": value} for equality, or {"column": {"op": value}} with op '
                "one of eq, ne, gt, gte, lt, lte, in (a list), contains (text), is_null, not_null (value true).")


def _row_schema(columns: list[Column], *, partial: bool = False) -> dict[str, Any]:
    props = {c.name: {**_JSON[c.type], **({"description": c.description} if c.description else {})} for c in columns}
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [c.name for c in columns if c.required]
    if required and not partial:
        schema["required"] = required
    return schema


def agent_functions(table: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """``(op, description, parameters)`` of the functions an agent gets for ``table``."""
    columns = msgspec.convert(table.columns, list[Column])
    keys = list(table.key_columns)
    label = f"the data table '{table.name}'" + (f" ({table.description})" if table.description else "")
    rows = {"type": "array", "items": _row_schema(columns), "minItems": 1}
    filt = {"type": "object", "description": _FILTER_HELP}
    out = [("insert", f"Add rows to {label}.", {"type": "object", "properties": {"rows": rows}, "required": ["rows"]}),
           ("find", f"Find rows of {label}.", {"type": "object", "properties": {
               "filter": filt, "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}}),
           ("update", f"Change columns of the rows of {label} that match a filter.", {"type": "object", "properties": {
               "filter": filt, "set": _row_schema(columns, partial=True)}, "required": ["filter", "set"]}),
           ("delete", f"Delete the rows of {label} that match a filter.", {"type": "object", "properties": {
               "filter": filt}, "required": ["filter"]})]
    if keys:
        out.insert(1, ("upsert", f"Insert rows into {label}, or update the row with the same {', '.join(keys)}.",
                       {"type": "object", "properties": {"rows": rows}, "required": ["rows"]}))
    return out


def function_name(table_name: str, op: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", table_name).strip("_")[:50] or "table"
    return f"{base}_{op}"


class TableResolver:
    """``table:<table id or name>`` → one function per operation on that table."""

    prefix = "table"

    async def resolve(self, ref: str, ctx: Any) -> list[AgentTool]:
        services = ctx.services
        try:
            async with services.sessions() as session:
                table = await store.table_row(session, ctx.workspace_id, ref)
        except PilotError as exc:
            raise NodeError(f"tools: table:{ref}: {exc.detail}") from exc
        tools = []
        for op, description, parameters in agent_functions(table):
            async def call(arguments: dict[str, Any], op: str = op) -> Any:
                if services.dry_run and op in _WRITES:
                    return {"dry_run": True, "op": op, "table": table.id, "arguments": arguments}
                try:
                    args = msgspec.convert({**arguments, "table": table.id, "op": op}, TableArgs, strict=False)
                except msgspec.ValidationError as exc:
                    raise ToolError(f"invalid arguments for {op}: {exc}") from exc
                return await run_table_op(services.sessions, services.settings, ctx.workspace_id, args)

            tools.append(AgentTool(name=function_name(table.name, op), description=description, parameters=parameters,
                                   call=call, ref=f"table:{ref}"))
        return tools


register_resolver(TableResolver())
