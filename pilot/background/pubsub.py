"""One Redis pub/sub subscription kept alive: subscribe, route each message, reconnect with backoff.

Both pub/sub users of πlot — run cancellation (:mod:`pilot.background.cancel`) and cache
invalidation (:mod:`pilot.background.invalidation`) — need the same loop, and both must assume
that messages published while the connection was down are lost: ``on_subscribed`` runs after
every (re)subscription so the caller can catch up on what it may have missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from pilot.background.redis_bus import UNAVAILABLE

log = logging.getLogger("pilot.background.pubsub")


async def listen_channel(redis: Redis, channel: str, on_message: Callable[[bytes], None], *,
                         on_subscribed: Callable[[], Awaitable[None]] | None = None,
                         on_lost: Callable[[], None] | None = None, max_backoff_s: float = 5.0) -> None:
    """Run until cancelled: ``on_message(data)`` for each message on ``channel``; ``on_subscribed()``
    after each (re)subscription; ``on_lost()`` when Redis drops, before the backoff."""
    backoff = 0.1
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            backoff = 0.1
            if on_subscribed is not None:
                await on_subscribed()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"]
                    on_message(data if isinstance(data, bytes) else str(data).encode())
        except asyncio.CancelledError:
            raise
        except UNAVAILABLE as exc:
            if on_lost is not None:
                on_lost()
            log.warning("pub/sub channel %s lost (%s); reconnecting in %.1fs", channel, type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)
        finally:
            try:
                await pubsub.aclose()
            except Exception:  # noqa: BLE001, S110 - the connection is already gone
                pass
