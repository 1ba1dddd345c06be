"""The process's long-lived resources, built once in the app lifespan (or by the worker/CLI).

Domains hang their services here (``runtime.extras`` is deliberately absent: add a typed
attribute instead) so handlers receive them through dependency injection, never globals.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pilot.chat.service import ChatService
from pilot.db.engine import create_engine, create_session_factory
from pilot.engine.nodes.base import EngineServices
from pilot.engine.service import RunService
from pilot.events.bus import EventBus
from pilot.settings import Settings
from pilot.templates.catalog import TemplateCatalog

log = logging.getLogger("pilot")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Filled by the start-up steps (pilot.startup.STARTUP declares which step needs which):
    templates: TemplateCatalog | None = None
    bus: EventBus | None = None
    runs: RunService | None = None
    chat: ChatService | None = None
    engine_services: EngineServices | None = None  # the node runners' services
    redis: Redis | None = None  # when REDIS_URL is set
    background_tasks: set[asyncio.Task] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        engine = create_engine(settings.db)
        return cls(settings=settings, engine=engine, sessions=create_session_factory(engine))

    def spawn(self, coro, *, name: str | None = None) -> asyncio.Task:
        """Start a background task that is kept alive and cancelled on shutdown."""
        task = asyncio.create_task(coro, name=name)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return task

    async def aclose(self) -> None:
        for task in list(self.background_tasks):
            task.cancel()
        if self.background_tasks:
            await asyncio.gather(*self.background_tasks, return_exceptions=True)
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
