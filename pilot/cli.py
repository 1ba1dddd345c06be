"""The ``pilot`` command line: ``serve``, ``db upgrade``, ``keys create``, ``templates list``,
``validate FILE`` — plus subcommands that live with their domain (see ``DOMAIN_COMMANDS``).

Output meant for scripts (a new key) goes to stdout; everything else to stderr.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from pilot import __version__

# Subcommands owned by other domains, as "module:attribute" of a click command. They are imported
# only when used, so `pilot --help` stays fast and a broken domain cannot break `pilot serve`.
# To add one: write the click command next to its domain code and add ONE line here.
DOMAIN_COMMANDS: dict[str, str] = {
    "generate": "pilot.generation.cli:generate_command",
    "eval": "pilot.generation.cli:eval_command",
    "worker": "pilot.background.cli:worker_command",
    "import": "pilot.interop.cli:import_command",
    "export": "pilot.interop.cli:export_command",
    "users": "pilot.cli_users:users",
    "orgs": "pilot.cli_users:orgs",
}


class PilotGroup(click.Group):
    """A click group that also lists and lazily loads ``DOMAIN_COMMANDS``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *DOMAIN_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in DOMAIN_COMMANDS:
            module_name, _, attribute = DOMAIN_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=PilotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pilot")
def main() -> None:
    """πlot: natural-language requests to validated, runnable AI-agent workflows."""


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _safe_url(url: str) -> str:
    """The database URL without its password (for messages)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------ serve


@main.command()
@click.option("--host", default=None, help="interface to bind (default: $HOST or 0.0.0.0)")
@click.option("--port", type=int, default=None, help="port (default: $PORT or 8000)")
@click.option("--reload", is_flag=True, help="restart on code changes (development)")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def serve(host: str | None, port: int | None, reload: bool, log_level: str) -> None:
    """Run the HTTP API with uvicorn.

    On the embedded defaults (SQLite under ./.pilot) pending migrations are applied on start and
    the first start creates the 'local' workspace and prints its dev API key (also saved to
    .pilot/dev-key)."""
    import uvicorn

    from pilot.observability.logs import uvicorn_log_config
    from pilot.settings import get_settings

    settings = get_settings()
    key_file = settings.app.data_dir / "dev-key"
    if settings.db.is_sqlite and key_file.exists():
        from pilot.startup import panel_link

        _echo_err(f"πlot: dev API key is in {key_file}; the panel: {panel_link(settings, key_file.read_text().strip(), host, port)}")
    password_file = settings.app.data_dir / "admin-password"
    if settings.db.is_sqlite and password_file.exists():
        _echo_err(f"πlot: log in as {settings.auth.admin_email} with the password in {password_file} (POST /api/auth/login)")
    uvicorn.run(
        "pilot.app:create_app",
        factory=True,
        host=host or settings.app.host,
        port=port if port is not None else settings.app.port,
        reload=reload,
        log_level=log_level,
        log_config=uvicorn_log_config(log_level),  # uvicorn's records go through πlot's structured logs
        access_log=False,  # the request middleware logs each request (with its request id)
        proxy_headers=True,
        forwarded_allow_ips=settings.app.forwarded_allow_ips,  # only a proxy we trust may name the client
        ws="none",  # no WebSocket routes (SSE streams over HTTP): the websockets import is not paid at start
    )


# ------------------------------------------------------------------ db


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply pending migrations to $DATABASE_URL (or the embedded SQLite file)."""
    from sqlalchemy.exc import DBAPIError

    from pilot.db.migrate import upgrade
    from pilot.settings import get_settings

    url = get_settings().db.url
    try:
        upgrade(url, revision)
    except DBAPIError as exc:
        raise click.ClickException(f"cannot migrate {_safe_url(url)}: {str(exc.orig).strip().splitlines()[0]}") from None
    _echo_err(f"database {_safe_url(url)} migrated to {revision}")


# ------------------------------------------------------------------ keys


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--workspace", "workspace", required=True, help="workspace name (created if it does not exist)")
@click.option("--name", "key_name", default="default", show_default=True, help="label of the key")
@click.option("--role", type=click.Choice(["guest", "member", "admin"]), default="admin", show_default=True,
              help="what the key may do in the workspace: guest reads, member also creates and runs, admin manages")
def keys_create(workspace: str, key_name: str, role: str) -> None:
    """Create an API key for WORKSPACE and print it once (only its hash is stored)."""
    from pilot.auth.service import create_api_key
    from pilot.runtime import Runtime
    from pilot.settings import get_settings
    from pilot.startup import migrate_if_embedded

    async def _create() -> str:
        runtime = Runtime.build(get_settings())
        try:
            await migrate_if_embedded(runtime)
            async with runtime.sessions() as session:
                key = await create_api_key(session, workspace, key_name, role)
                await session.commit()
            return key
        finally:
            await runtime.aclose()

    from sqlalchemy.exc import DBAPIError

    try:
        key = asyncio.run(_create())
    except DBAPIError as exc:
        raise click.ClickException(
            f"cannot create the key: {str(exc.orig).strip().splitlines()[0]} "
            "(is the database reachable and migrated? run `pilot db upgrade`)"
        ) from None
    _echo_err(f"created API key '{key_name}' ({role}) for workspace '{workspace}' (shown once; store it safely):")
    click.echo(key)


# ------------------------------------------------------------------ workspaces


@main.group()
def workspaces() -> None:
    """Workspaces (operator settings)."""


@workspaces.command("limits")
@click.argument("workspace")
@click.option("--max-node-runs", type=click.IntRange(min=0), default=None, help="node executions per run (0: unlimited)")
@click.option("--max-events", type=click.IntRange(min=0), default=None, help="events per run (0: unlimited)")
@click.option("--max-event-bytes", type=click.IntRange(min=0), default=None, help="bytes of events per run (0: unlimited)")
@click.option("--reset", is_flag=True, help="drop the overrides: the server defaults apply")
def workspaces_limits(workspace: str, max_node_runs: int | None, max_events: int | None, max_event_bytes: int | None, reset: bool) -> None:
    """Show or set WORKSPACE's per-run budget overrides (workspace keys cannot change them)."""
    from pilot.cli_workspace import in_workspace
    from pilot.db.models import WorkspaceRow
    from pilot.engine.budget import RunLimits
    from pilot.settings import get_settings

    changes = {k: v for k, v in (("max_node_runs", max_node_runs), ("max_events", max_events), ("max_event_bytes", max_event_bytes)) if v is not None}

    async def _change(session, workspace_id: str) -> dict[str, Any] | None:
        row = await session.get(WorkspaceRow, workspace_id)
        if reset or changes:
            row.run_limits = None if reset else {**(row.run_limits or {}), **changes}
        return row.run_limits

    async def _apply() -> dict[str, Any] | None:
        return await in_workspace(workspace, _change)

    overrides = asyncio.run(_apply())
    engine = get_settings().engine
    defaults = RunLimits(engine.run_max_node_runs, engine.run_max_events, engine.run_max_event_bytes)
    effective = defaults.with_overrides(overrides)
    for name in RunLimits.__struct_fields__:
        value = getattr(effective, name)
        source = "workspace" if overrides and name in overrides else "default"
        click.echo(f"{name:16} {value if value else 'unlimited'!s:>14}  ({source})")


# ------------------------------------------------------------------ templates


@main.group()
def templates() -> None:
    """The workflow template library."""


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
def templates_list(as_json: bool, lang: str) -> None:
    """List the templates (each one is validated while loading)."""
    from pilot.templates.catalog import default_catalog

    catalog = default_catalog()
    rows = [
        {
            "id": t.id,
            "name": getattr(t.name, lang),
            "tags": list(t.tags),
            "nodes": len(t.graph.nodes),
            "parameters": [p.name for p in t.parameters],
        }
        for t in catalog.all()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max((len(r["id"]) for r in rows), default=2)
    for r in rows:
        click.echo(f"{r['id']:<{width}}  {r['name']}  [{', '.join(r['tags'])}]  {r['nodes']} nodes")
    _echo_err(f"{len(rows)} templates")


# ------------------------------------------------------------------ validate


def _load_document(path: Path) -> Any:
    """Parse a YAML or JSON file (JSON is YAML, but JSON errors read better from the JSON parser)."""
    import yaml

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def _graph_part(document: Any) -> Any:
    """Accept a bare graph, a stored workflow, or a generate response ({"workflow": {...}})."""
    if isinstance(document, dict) and "nodes" not in document and isinstance(document.get("workflow"), dict):
        document = document["workflow"]
    if isinstance(document, dict):
        return {k: document[k] for k in ("nodes", "edges", "settings") if k in document}
    return document


def _validate_template_file(file: Path, template_id: str) -> None:
    """A template file (``templates/<id>.yaml``): load it as the catalog does (parameters rendered
    with their defaults, graph validated) by loading a one-file library."""
    import shutil
    import tempfile

    from pilot.templates.catalog import TemplateCatalog, TemplateLoadError

    with tempfile.TemporaryDirectory() as tmp:
        # Named after its id: the library requires it, but one file alone may live anywhere.
        shutil.copy(file, Path(tmp) / f"{Path(template_id).name}.yaml")
        try:
            template = TemplateCatalog.load(tmp).all()[0]
        except TemplateLoadError as exc:
            click.echo(f"✗ {file} is an invalid template: {exc.detail}")
            sys.exit(1)
    graph = template.graph
    click.echo(f"✓ {file} is a valid template '{template.id}': {len(graph.nodes)} nodes, {len(graph.edges)} edges")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Validate a workflow FILE (YAML or JSON); exit status 1 when it is invalid."""
    from pilot.workflows.validation import validate_data

    try:
        document = _load_document(file)
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        click.echo(f"✗ {file}: not valid JSON/YAML: {exc}")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError and friends: reported, exit 1
        click.echo(f"✗ {file}: not valid YAML: {exc}")
        sys.exit(1)
    if isinstance(document, dict) and isinstance(document.get("graph"), dict) and "parameters" in document:
        _validate_template_file(file, str(document.get("id") or file.stem))
        return
    graph, report = validate_data(_graph_part(document))
    if graph is not None and report.valid:
        levels = " → ".join("[" + ", ".join(level) + "]" for level in report.levels)
        click.echo(f"✓ {file} is valid: {len(graph.nodes)} nodes, {len(graph.edges)} edges")
        click.echo(f"  parallel levels: {levels}")
        return
    click.echo(f"✗ {file} is invalid ({len(report.problems)} problem{'s' if len(report.problems) != 1 else ''}):")
    for problem in report.problems:
        where = []
        if problem.node_ids:
            where.append("nodes: " + ", ".join(problem.node_ids))
        if problem.edge_ids:
            where.append("edges: " + ", ".join(problem.edge_ids))
        click.echo(f"  - [{problem.code}] {problem.message}" + (f" ({'; '.join(where)})" if where else ""))
    sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
