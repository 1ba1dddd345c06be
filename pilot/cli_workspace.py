"""One transaction in a named workspace, for CLI commands that work on the configured database
(``pilot import`` / ``export``, ``pilot workspaces limits``)."""

from __future__ import annotations

from typing import Any

import click


async def in_workspace(workspace: str, work: Any) -> Any:
    """Run ``work(session, workspace_id)`` in one committed transaction of the named workspace."""
    import sqlalchemy as sa

    from pilot.db.models import WorkspaceRow
    from pilot.runtime import Runtime
    from pilot.settings import get_settings
    from pilot.startup import migrate_if_embedded

    runtime = Runtime.build(get_settings())
    try:
        await migrate_if_embedded(runtime)
        async with runtime.sessions() as session:
            row = await session.scalar(sa.select(WorkspaceRow).where(WorkspaceRow.name == workspace))
            if row is None:
                raise click.ClickException(f"no workspace named {workspace!r} (create one with `pilot keys create --workspace {workspace}`)")
            result = await work(session, row.id)
            await session.commit()
            return result
    finally:
        await runtime.aclose()
