"""Describing database failures without leaking what was being written.

SQLAlchemy's exception text carries the SQL and its ``[parameters: ...]`` (user data, possibly
credentials); a run's error, an event or a log line gets only the driver's own message."""

from __future__ import annotations

from sqlalchemy.exc import StatementError


def db_reason(exc: BaseException, *, limit: int = 300) -> str:
    """``TypeName: first line of the driver's message``, without SQL or parameters."""
    inner = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    text = str(inner).split("\n", 1)[0].split(" [SQL:", 1)[0].strip()
    return f"{type(inner).__name__}: {text}"[:limit]
