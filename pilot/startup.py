"""Start and stop the runtime's resources in order (used by the app lifespan, the worker, the CLI)."""

from __future__ import annotations

import asyncio
import logging

from pilot.auth.service import create_api_key, workspace_has_keys
from pilot.background.setup import start_inline_sweeper, attach_background_launcher, start_background
from pilot.db.migrate import upgrade
from pilot.runtime import Runtime
from pilot.templates.catalog import start_templates
from pilot.chat.service import start_chat
from pilot.engine.service import start_runs, stop_runs
from pilot.events.bus import start_events, stop_events

log = logging.getLogger("pilot")

DEV_WORKSPACE = "local"


async def migrate_if_embedded(runtime: Runtime) -> None:
    """Embedded mode (SQLite) applies pending migrations on start; production runs `pilot db upgrade`."""
    db = runtime.settings.db
    if db.is_sqlite and db.auto_migrate:
        await asyncio.to_thread(upgrade, db.url)


async def ensure_dev_key(runtime: Runtime) -> str | None:
    """First start in embedded mode: create the local workspace and print a dev key once."""
    if not runtime.settings.db.is_sqlite:
        return None
    async with runtime.sessions() as session:
        if await workspace_has_keys(session):
            return None
        key = await create_api_key(session, DEV_WORKSPACE, "dev")
        await session.commit()
    key_file = runtime.settings.app.data_dir / "dev-key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    # Printed (not logged) once, so it never ends up in a log aggregator by default.
    print(f"πlot: created workspace '{DEV_WORKSPACE}' with dev API key {key} (saved to {key_file})", flush=True)
    return key


async def start_runtime(runtime: Runtime) -> None:
    await migrate_if_embedded(runtime)
    await ensure_dev_key(runtime)
    # Domain start-up hooks are added below (templates, event bus, run service, ...).
    await start_templates(runtime)
    await start_background(runtime)  # REDIS_URL: Redis client + Redis Streams bus (before the bus default)
    await start_events(runtime)
    await start_runs(runtime)
    await attach_background_launcher(runtime)  # REDIS_URL: mode "background" via the arq worker
    await start_chat(runtime)  # needs templates, the bus and runs
    await start_inline_sweeper(runtime)  # no REDIS_URL: end inline runs a crashed process left running


async def stop_runtime(runtime: Runtime) -> None:
    await runtime.aclose()  # cancels inline runs first: each still ends with run.finished
    await stop_runs(runtime)
    await stop_events(runtime)
