"""Start-up selection for background runs (called from ``pilot.startup.start_runtime``).

``REDIS_URL`` set → this process uses Redis: ``runtime.redis`` (an ArqRedis client, also used by
``/ready``), ``runtime.bus`` = :class:`RedisStreamBus` (events reach every API process), and
``runtime.launcher`` = :class:`ArqRunLauncher` (``mode: "background"``, the default mode).
Not set → nothing here: the in-memory bus and inline runs (the embedded default).
"""

from __future__ import annotations

import logging

from pilot.background.keys import RedisKeys
from pilot.background.launcher import ArqRunLauncher, connect_arq
from pilot.background.redis_bus import RedisStreamBus, db_event_reader

log = logging.getLogger("pilot.background")


async def start_background(runtime) -> None:
    """Wire Redis, the Redis event bus and the arq launcher into the runtime when configured."""
    settings = runtime.settings.redis
    if not settings.enabled:
        return
    keys = RedisKeys(settings.key_prefix)
    if runtime.redis is None:
        runtime.redis = connect_arq(settings.url, keys)
    runtime.bus = RedisStreamBus(settings.url, settings, persisted=db_event_reader(runtime.sessions))
    runtime.launcher = ArqRunLauncher(runtime.redis, keys, runtime.sessions, runtime.bus)
    log.info("background runs on Redis (queue %s)", keys.queue)
