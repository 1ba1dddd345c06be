"""The process's long-lived resources, built once in the app lifespan (or by the worker/CLI).

Domains hang their services here (``runtime.extras`` is deliberately absent: add a typed
attribute instead) so handlers receive them through dependency injection, never globals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pilot.auth.principals import PrincipalCache
from pilot.credentials.names import CredentialNames
from pilot.db.engine import create_engine, create_session_factory
from pilot.engine.nodes.base import EngineServices
from pilot.engine.service import RunService
from pilot.events.bus import EventBus
from pilot.generation.offload import GenerationPool
from pilot.knowledge.listing import KnowledgeSnapshots
from pilot.readiness.lookups import ResourceLookups
from pilot.settings import Settings
from pilot.tools.listing import ToolListings

if TYPE_CHECKING:  # built on first use (see OnFirstUse): importing them costs ~0.5 s of a cold start
    from pilot.auth.limits import LoginLimiter
    from pilot.background.invalidation import CacheInvalidation
    from pilot.chat.service import ChatService
    from pilot.templates.catalog import TemplateCatalog
else:  # names that resolve for readers of Runtime's type hints at run time (Litestar's DI, via msgspec)
    ChatService = TemplateCatalog = LoginLimiter = CacheInvalidation = Any

log = logging.getLogger("pilot")


class OnFirstUse:
    """A :class:`Runtime` attribute built by ``build(runtime)`` the first time it is read (unless it
    was set before), so a server answers before it pays for what only some requests need.

    Works as a dataclass field default: the class-level read gives ``None`` (the ``__init__``
    default); assigning ``None`` again means "build it on the next read"."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self._build = build
        self._slot = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    def __get__(self, runtime: Any, owner: type | None = None) -> Any:
        if runtime is None:
            return None
        value = runtime.__dict__.get(self._slot)
        if value is None:
            value = runtime.__dict__[self._slot] = self._build(runtime)
        return value

    def __set__(self, runtime: Any, value: Any) -> None:
        runtime.__dict__[self._slot] = value


def _template_library(runtime: Runtime) -> TemplateCatalog:
    from pilot.templates.catalog import catalog_for  # loaded and validated once per process and directory

    return catalog_for(runtime.settings.app.templates_dir)


def _chat_service(runtime: Runtime) -> ChatService:
    from pilot.chat.service import ChatService

    return ChatService(runtime)


def _login_limits(runtime: Runtime) -> LoginLimiter:
    from pilot.auth.limits import login_limiter  # Redis-backed once start-up has connected Redis

    return login_limiter(runtime)


@dataclass(repr=False, eq=False)  # a generated repr or == would read (so build) the OnFirstUse attributes
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Built on first read (the library also by pilot.startup.warm_up, once the server answers):
    templates: TemplateCatalog | None = OnFirstUse(_template_library)  # type: ignore[assignment]
    chat: ChatService | None = OnFirstUse(_chat_service)  # type: ignore[assignment]
    login_limits: LoginLimiter | None = OnFirstUse(_login_limits)  # type: ignore[assignment]  # failed logins (pilot.auth.limits)
    # Filled by the start-up steps (pilot.startup.STARTUP declares which step needs which):
    bus: EventBus | None = None
    runs: RunService | None = None
    engine_services: EngineServices | None = None  # the node runners' services
    redis: Redis | None = None  # when REDIS_URL is set
    cache_invalidation: CacheInvalidation | None = None  # with Redis: other processes' commits empty our caches
    background_tasks: set[asyncio.Task] = field(default_factory=set)
    principals: PrincipalCache | None = None  # API key → workspace (built from the settings when None)
    credential_names: CredentialNames | None = None  # workspace → credential names, for advisory readiness
    tool_listings: ToolListings | None = None  # GET /api/tools pages
    # Built with the runtime, never on first use: a process publishes its commits' changes to the
    # others (pilot.background.invalidation) only for tables one of its own caches watches.
    knowledge_snapshots: KnowledgeSnapshots | None = None  # workspace → knowledge bases (generation, advisory readiness)
    resource_lookups: ResourceLookups | None = None  # (workspace, ref) → tool instance / data table (advisory readiness)
    # Offline generations in worker processes; built here, started by the warm-up (pilot.startup).
    generation_pool: GenerationPool | None = None

    def __post_init__(self) -> None:
        if self.principals is None:
            self.principals = PrincipalCache(self.settings.app.auth_cache_ttl_s)
        if self.credential_names is None:
            self.credential_names = CredentialNames(self.settings.app.auth_cache_ttl_s)
        if self.tool_listings is None:
            self.tool_listings = ToolListings(self.settings.app.auth_cache_ttl_s)
        if self.knowledge_snapshots is None:
            self.knowledge_snapshots = KnowledgeSnapshots(self.settings.app.auth_cache_ttl_s)
        if self.resource_lookups is None:
            self.resource_lookups = ResourceLookups(self.settings.app.auth_cache_ttl_s)
        if self.generation_pool is None and self.settings.app.generation_processes and not self.settings.llm.enabled:
            self.generation_pool = GenerationPool(self.settings.app.generation_processes, self.settings.app.templates_dir)

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
        if self.cache_invalidation is not None:
            await self.cache_invalidation.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if self.generation_pool is not None:
            await asyncio.to_thread(self.generation_pool.close)
        await self.engine.dispose()
