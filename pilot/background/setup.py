"""Start-up selection for background runs (called from ``pilot.startup.start_runtime``).

``REDIS_URL`` set → this process uses Redis: ``runtime.redis`` (an ArqRedis client, also used by
``/ready``), ``runtime.bus`` = :class:`RedisStreamBus` (events reach every API process), and the
RunService gets the ``"background"`` launcher (:class:`ArqRunLauncher`), which becomes the
default mode (``mode: "inline"`` stays available). Not set → nothing here: the in-memory bus
and inline runs (the embedded default); ``mode: "background"`` is then a 400 naming ``mode``.
"""

from __future__ import annotations

import asyncio
import logging

from pilot.background.keys import RedisKeys
from pilot.background.launcher import ArqRunLauncher, connect_arq
from pilot.background.redis_bus import RedisStreamBus, db_event_reader

log = logging.getLogger("pilot.background")


async def start_background(runtime) -> None:
    """Before the events hook: the Redis client and the Redis Streams bus, when configured."""
    settings = runtime.settings.redis
    if not settings.enabled:
        return
    if runtime.redis is None:
        runtime.redis = connect_arq(settings.url, RedisKeys(settings.key_prefix))
    if runtime.bus is None:
        runtime.bus = RedisStreamBus(settings.url, settings, persisted=db_event_reader(runtime.sessions))


async def start_cache_invalidation(runtime) -> None:
    """With Redis: publish this process's committed changes to cached tables and apply the others'
    (:mod:`pilot.background.invalidation`), so a revoked key or a new tool is seen everywhere at once."""
    if runtime.redis is None or runtime.cache_invalidation is not None:
        return
    from pilot.background.invalidation import CacheInvalidation

    settings = runtime.settings.redis
    runtime.cache_invalidation = CacheInvalidation(runtime.redis, RedisKeys(settings.key_prefix), settings.url)
    runtime.cache_invalidation.start()


async def attach_background_launcher(runtime) -> None:
    """After the run service exists: register the arq launcher as mode ``background``."""
    settings = runtime.settings.redis
    if not settings.enabled or runtime.runs is None:
        return
    keys = RedisKeys(settings.key_prefix)
    runtime.runs.launchers["background"] = ArqRunLauncher(runtime.redis, keys, runtime.sessions, runtime.bus)
    log.info("background runs enabled (arq queue %s)", keys.queue)


async def start_inline_sweeper(runtime) -> None:
    """Without Redis no worker sweeps, so the API process itself ends inline runs orphaned by a
    crashed process (at start-up, then periodically): a run never stays ``running`` forever."""
    if runtime.settings.redis.enabled:
        return  # workers sweep inline orphans as part of their periodic sweep
    from pilot.background.sweeper import sweep_inline_orphans

    settings = runtime.settings.redis

    async def _loop() -> None:
        while True:
            try:
                await sweep_inline_orphans(runtime.sessions, runtime.bus, stale_after_s=settings.stale_after_s)
            except Exception:  # noqa: BLE001 - a failed pass is retried next interval
                log.exception("inline sweep failed")
            await asyncio.sleep(settings.sweep_interval_s)

    runtime.spawn(_loop(), name="pilot-inline-sweeper")
