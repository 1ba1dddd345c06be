"""Start and stop the runtime's resources in order (used by the app lifespan, the worker, the CLI)."""

from __future__ import annotations

import asyncio
import graphlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pilot.auth.service import create_api_key, workspace_has_keys
from pilot.auth.users import ensure_first_admin
from pilot.background.setup import (attach_background_launcher, start_background, start_cache_invalidation,
                                    start_inline_sweeper)
from pilot.core.heap import freeze_startup_heap
from pilot.runtime import Runtime
from pilot.settings import Settings
from pilot.sandbox.pool import sandbox_lifetime
from pilot.triggers.scheduler import start_scheduler
from pilot.chat.recovery import start_chat
from pilot.engine.service import start_runs, stop_runs
from pilot.events.bus import start_events, stop_events
from pilot.observability.bus import start_metrics

log = logging.getLogger("pilot")

DEV_WORKSPACE = "local"


async def migrate_if_embedded(runtime: Runtime) -> None:
    """Embedded mode (SQLite) applies pending migrations on start; production runs `pilot db upgrade`."""
    db = runtime.settings.db
    if db.is_sqlite and db.auto_migrate:
        from pilot.db.migrate import upgrade  # Alembic (~0.15 s to import): only where it runs

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
    print(f"πlot: open the panel at {panel_link(runtime.settings, key)}", flush=True)
    return key


def panel_link(settings: Settings, key: str, host: str | None = None, port: int | None = None) -> str:
    """The panel's address with the dev key in its fragment (browsers never send it to a server;
    the page keeps it for the tab and takes it out of the address bar)."""
    host = host or settings.app.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{port or settings.app.port}/panel#key={key}"


# ------------------------------------------------------------------ warm-up
# One-time costs that only some requests need are paid WARM_UP_DELAY_S after start-up rather than
# before the first answer (a request that needs one earlier pays it itself), in threads so that
# the event loop never stalls. Modules only some requests need (the chat stack, the MCP SDK, the
# LLM stack) are left to their first request: importing them in a thread could deadlock with a
# request importing the same (circular) modules.
WARM_UP_DELAY_S = 1.0


async def start_render_pool(runtime: Runtime) -> None:
    """Start-up hook: the template render processes start WARM_UP_DELAY_S later, not during
    start-up, which they would compete with for the CPU (a heavy render before then starts them)."""
    from pilot.engine.nodes.rendering import warm_render_pool

    async def later() -> None:
        await asyncio.sleep(WARM_UP_DELAY_S)
        await asyncio.to_thread(warm_render_pool)

    runtime.spawn(later(), name="warm-render-pool")


@dataclass(frozen=True)
class Step:
    """One start-up hook and the steps whose resources it needs."""

    name: str
    start: Callable[[Runtime], Awaitable[Any]]
    after: tuple[str, ...] = ()


# The start-up graph: each step names what it needs, and start_runtime derives the order from it
# (graphlib), so the order is checked code rather than a comment. A cycle or an unknown name
# fails at import.
STARTUP: tuple[Step, ...] = (
    Step("migrations", migrate_if_embedded),
    Step("dev key", ensure_dev_key, after=("migrations",)),
    Step("first admin", ensure_first_admin, after=("dev key",)),  # embedded: admin@localhost, password printed once
    Step("redis", start_background),  # REDIS_URL: Redis client + Redis Streams bus
    Step("cache invalidation", start_cache_invalidation, after=("redis",)),  # Redis pub/sub of cached tables' changes
    Step("events", start_events, after=("redis",)),  # the in-memory bus only when Redis gave none
    Step("metrics", start_metrics, after=("events",)),  # run/node metrics from the events published
    Step("runs", start_runs, after=("migrations", "events", "metrics")),
    Step("background launcher", attach_background_launcher, after=("runs", "redis")),  # mode "background"
    Step("chat", start_chat, after=("events", "runs")),  # closes replies a crash left; the service is built on first use
    Step("inline sweeper", start_inline_sweeper, after=("runs",)),  # ends inline runs a crashed process left
    Step("scheduler", start_scheduler, after=("runs", "background launcher")),  # schedule triggers
    Step("code sandbox", sandbox_lifetime),  # code-node spares start lazily; killed at shutdown
    Step("render pool", start_render_pool, after=("runs",)),  # its processes start WARM_UP_DELAY_S later
)


def startup_order(steps: tuple[Step, ...] = STARTUP) -> list[Step]:
    """The steps in an order that satisfies every ``after`` (stable: declaration order breaks ties)."""
    by_name = {step.name: step for step in steps}
    unknown = {dep for step in steps for dep in step.after if dep not in by_name}
    if unknown:
        raise ValueError(f"start-up steps need unknown steps: {sorted(unknown)}")
    sorter = graphlib.TopologicalSorter({step.name: step.after for step in steps})
    sorter.prepare()  # raises graphlib.CycleError on a cycle
    order: list[Step] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=[s.name for s in steps].index)
        for name in ready:
            order.append(by_name[name])
            sorter.done(name)
    return order


_ORDER = startup_order()


async def start_runtime(runtime: Runtime) -> None:
    """Start every resource, each after the ones it needs."""
    for step in _ORDER:
        await step.start(runtime)


def _warm_generation(runtime: Runtime) -> None:
    """The offline generation's one-time costs: the intent index of the runtime's template
    catalog, the prefilter automaton and the planner's first-use patterns (no LLM is called)."""
    from pilot.generation.compiler import compile_plan
    from pilot.generation.offload import WARM_PROMPTS
    from pilot.generation.pipeline import plan_offline
    from pilot.generation.service import GenerationService

    service = GenerationService(runtime.templates, runtime.settings)
    for prompt in WARM_PROMPTS:
        service.rank(prompt)
        compile_plan(plan_offline(prompt))


async def warm_up(runtime: Runtime, delay_s: float = WARM_UP_DELAY_S) -> None:
    """The API's one-time costs, ``delay_s`` after start-up (spawned by the app's lifespan; the
    worker needs none of them): the template library loaded and validated (``runtime.templates``,
    ~0.3 s), the offline generator's tables built (:func:`_warm_generation`) and the generation
    processes started (:mod:`pilot.generation.offload`). A broken library is logged here, naming the file, and every request that needs the
    library answers that error (500)."""
    await asyncio.sleep(delay_s)
    try:
        await asyncio.to_thread(lambda: runtime.templates)
    except Exception:  # noqa: BLE001 - the requests that need the library raise it again
        log.exception("warm-up: the template library could not be loaded")
    else:
        try:
            await asyncio.to_thread(_warm_generation, runtime)
        except Exception:  # noqa: BLE001 - a cold table is built again by the first request
            log.exception("warm-up: the generation tables could not be built")
        if runtime.generation_pool is not None:  # until it has started, generations run inline
            try:
                await asyncio.to_thread(runtime.generation_pool.warm)
            except Exception:  # noqa: BLE001 - generation stays inline
                log.exception("warm-up: the generation processes could not be started")
    # Frozen only now: the template library, the intent index and the planner's tables are
    # long-lived too, and a full GC would otherwise walk them (60 ms pauses under generate load).
    freeze_startup_heap()


async def stop_runtime(runtime: Runtime) -> None:
    await runtime.aclose()  # cancels inline runs first: each still ends with run.finished
    await stop_runs(runtime)
    await stop_events(runtime)
