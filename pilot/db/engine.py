"""Async engine and session factory built from DatabaseSettings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from pilot.core.codec import dumps_str, loads_stored
from pilot.settings import DatabaseSettings


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Create the async engine; for SQLite, make the data dir and enable WAL + foreign keys.

    JSON columns are encoded and decoded with msgspec, like events and responses, so a value is
    stored exactly as it was published (non-finite floats become null on both databases), and an
    SSE replay or a run load decodes its rows without the stdlib ``json`` parser."""
    if settings.is_sqlite:
        path = settings.url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.url, echo=settings.echo, connect_args={"timeout": 30}, json_serializer=dumps_str, json_deserializer=loads_stored,
            pool_reset_on_return=None,  # see _rollback_if_open
            # the same pool bounds as PostgreSQL: with SQLAlchemy's default (5 + 10 overflow) a
            # 16th concurrent request opened and closed a connection each time — a new aiosqlite
            # thread and four PRAGMAs per request
            pool_size=settings.pool_size, max_overflow=settings.pool_size,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "reset")
        def _rollback_if_open(dbapi_conn, _record, state):  # pragma: no cover - trivial
            # A connection going back to the pool is rolled back only if a transaction is still
            # open: the pool's unconditional rollback costs a trip to aiosqlite's thread after
            # every commit. (A connection that cannot be used from here is discarded by the pool.)
            if state.asyncio_safe and not state.terminate_only and dbapi_conn.driver_connection.in_transaction:
                dbapi_conn.rollback()

        return engine
    return create_async_engine(
        settings.url, echo=settings.echo, pool_size=settings.pool_size, max_overflow=settings.pool_size, pool_pre_ping=True,
        json_serializer=dumps_str, json_deserializer=loads_stored,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
