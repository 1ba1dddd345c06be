"""One transaction in a named workspace, for CLI commands that work on the configured database
(``pilot import`` / ``export``, ``pilot workspaces limits``), or in the database as a whole
(``pilot users …``, ``pilot orgs list``)."""

from __future__ import annotations

from typing import Any

import click


async def in_workspace(workspace: str, work: Any) -> Any:
    """Run ``work(session, workspace_id)`` in one committed transaction of the named workspace."""
    import sqlalchemy as sa

    from pilot.db.models import WorkspaceRow

    async def _named(session: Any) -> Any:
        row = await session.scalar(sa.select(WorkspaceRow).where(WorkspaceRow.name == workspace))
        if row is None:
            raise click.ClickException(f"no workspace named {workspace!r} (create one with `pilot keys create --workspace {workspace}`)")
        return await work(session, row.id)

    return await in_database(_named)


async def in_database(work: Any) -> Any:
    """Run ``work(session)`` in one committed transaction of the configured database (migrated
    first in embedded mode)."""
    from pilot.background.invalidation import announcing
    from pilot.runtime import Runtime
    from pilot.settings import get_settings
    from pilot.startup import migrate_if_embedded

    runtime = Runtime.build(get_settings())
    try:
        await migrate_if_embedded(runtime)
        async with announcing(runtime.settings.redis), runtime.sessions() as session:  # API processes' caches
            result = await work(session)
            await session.commit()
            return result
    finally:
        await runtime.aclose()
