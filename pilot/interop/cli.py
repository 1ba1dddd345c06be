"""``pilot import FILE`` and ``pilot export WORKFLOW_ID``: the import / export service from the
command line, on the configured database (``--workspace`` names the workspace; ``local`` is the
one the embedded server creates). Scripts read stdout (the new workflow id, or the file);
the import report goes to stderr."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from pilot.cli_workspace import in_workspace

FORMATS = click.Choice(["pilot", "dify", "n8n"])


def _fail(exc: Exception) -> click.ClickException:
    from pilot.core.errors import PilotError

    if isinstance(exc, PilotError):
        details = "".join(f"\n  - {p['message']}" for p in exc.extra if isinstance(p, dict) and "message" in p) if isinstance(exc.extra, list) else ""
        return click.ClickException(exc.detail + details)
    return click.ClickException(str(exc))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", default="local", show_default=True, help="workspace name")
@click.option("--format", "fmt", type=FORMATS, default=None, help="the file's format (detected when left out)")
@click.option("--name", default=None, help="name of the new workflow (default: the file's own)")
def import_command(file: Path, workspace: str, fmt: str | None, name: str | None) -> None:
    """Import a Dify DSL, an n8n workflow or a πlot export FILE as a new draft workflow."""
    from pilot.core.errors import PilotError
    from pilot.interop.schemas import ImportRequest
    from pilot.interop.service import import_workflow

    request = ImportRequest(document=file.read_text(encoding="utf-8"), format=fmt, name=name)  # type: ignore[arg-type]
    try:
        result = asyncio.run(in_workspace(workspace, lambda session, ws: import_workflow(session, ws, request)))
    except PilotError as exc:
        raise _fail(exc) from None
    counts = result.report.counts
    click.echo(f"imported {result.report.format} '{result.workflow.name}': {counts.mapped} mapped, {counts.partial} partial, "
               f"{counts.folded} folded, {counts.placeholder} placeholders, {counts.disconnected} left out "
               f"({counts.annotations} notes)", err=True)
    for item in result.report.items:
        if item.kind != "annotation":
            where = f"{item.node_id or item.source or ''}{'.' + item.field if item.field else ''}"
            click.echo(f"  [{item.kind}] {where}: {item.message}", err=True)
    click.echo(result.workflow_id)


@click.command("export")
@click.argument("workflow_id")
@click.option("--workspace", default="local", show_default=True, help="workspace name")
@click.option("--format", "fmt", type=FORMATS, default="pilot", show_default=True)
@click.option("--version", type=click.IntRange(min=1), default=None, help="a saved version (default: the current one)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file to write (default: stdout)")
def export_command(workflow_id: str, workspace: str, fmt: str, version: int | None, output: Path | None) -> None:
    """Export WORKFLOW_ID as a πlot, Dify (YAML) or n8n (JSON) file."""
    from pilot.core.errors import PilotError
    from pilot.interop.service import export_workflow

    try:
        exported = asyncio.run(in_workspace(workspace, lambda session, ws: export_workflow(session, ws, workflow_id, fmt, version)))  # type: ignore[arg-type]
    except PilotError as exc:
        raise _fail(exc) from None
    for note in exported.notes:
        click.echo(f"  note: {note}", err=True)
    if output is None:
        sys.stdout.buffer.write(exported.content)
        sys.stdout.flush()
    else:
        output.write_bytes(exported.content)
        click.echo(f"wrote {output} ({len(exported.content)} bytes, {len(exported.notes)} notes)", err=True)
